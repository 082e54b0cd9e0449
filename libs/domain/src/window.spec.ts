import { describe, expect, it } from 'vitest';
import { InvalidWindow, Window } from './window';

describe('Window', () => {
  it('holds labels after its exclusive begin up to and including its end', () => {
    const w = Window.of(10, 20);
    expect([10, 11, 19, 20, 21].map((t) => w.contains(t))).toEqual([false, true, true, true, false]);
    expect(Window.of(undefined, 20).contains(Number.MIN_SAFE_INTEGER)).toBe(true);
    expect(Window.of(undefined, 20).contains(21)).toBe(false);
  });

  it('may be empty but never end before it begins, and takes integer microseconds only', () => {
    expect(Window.of(5, 5).empty).toBe(true);
    expect(Window.of(5, 5).contains(5)).toBe(false);
    expect(Window.of(4, 5).empty).toBe(false);
    expect(Window.of(undefined, 0).empty).toBe(false);
    expect(() => Window.of(6, 5)).toThrow(RangeError);
    expect(() => Window.of(1.5, 5)).toThrow(RangeError);
    expect(() => Window.of(undefined, Number.NaN)).toThrow(RangeError);
  });

  it('converts between the exclusive and the inclusive (TAXII 1.0) lower bound by the 1 µs label resolution', () => {
    expect(Window.of(10, 20).firstUs).toBe(11);
    expect(Window.of(undefined, 20).firstUs).toBeUndefined();
    expect(Window.before(11)).toBe(10);
    const w = Window.labels(11, 20);
    expect(w.afterUs).toBe(10);
    expect([10, 11, 20, 21].map((t) => w.contains(t))).toEqual([false, true, true, false]);
  });

  it('accepts a request whose end is later than its begin, or that lacks either bound', () => {
    expect(Window.requested(1, 2)).toEqual({ afterUs: 1, throughUs: 2 });
    expect(Window.requested(undefined, 2)).toEqual({ afterUs: undefined, throughUs: 2 });
    expect(Window.requested(1, undefined)).toEqual({ afterUs: 1, throughUs: undefined });
    expect(() => Window.requested(2, 2)).toThrow(InvalidWindow);
    expect(() => Window.requested(3, 2)).toThrow(/later than/);
  });

  it('opens a request at the newest label: a missing or later end reports the newest, never before the begin', () => {
    expect(Window.opened({ afterUs: undefined, throughUs: undefined }, 50)).toEqual(Window.of(undefined, 50));
    expect(Window.opened({ afterUs: 10, throughUs: 100 }, 50)).toEqual(Window.of(10, 50));
    expect(Window.opened({ afterUs: 10, throughUs: 30 }, 50)).toEqual(Window.of(10, 30));
    // A begin after everything the collection holds: an empty window at the begin, not one that ends before it.
    expect(Window.opened({ afterUs: 80, throughUs: undefined }, 50)).toEqual(Window.of(80, 80));
    expect(Window.opened({ afterUs: 80, throughUs: 90 }, 50).empty).toBe(true);
  });

  it('splits into what is served up to a label and what is left after it', () => {
    const w = Window.of(10, 20);
    expect(w.upTo(15)).toEqual(Window.of(10, 15));
    expect(w.after(15)).toEqual(Window.of(15, 20));
    expect(w.upTo(25)).toEqual(w);
    expect(w.after(20).empty).toBe(true);
    expect(w.after(5)).toEqual(w);
    expect(Window.of(undefined, 20).after(7)).toEqual(Window.of(7, 20));
  });

  it('cuts into consecutive parts that together hold exactly its labels, and round-trips them through the stored cuts', () => {
    const w = Window.of(undefined, 30);
    const parts = w.split([10, 20]);
    expect(parts).toEqual([Window.of(undefined, 10), Window.of(10, 20), Window.of(20, 30)]);
    for (const t of [1, 10, 11, 20, 21, 30]) expect(parts.filter((p) => p.contains(t))).toHaveLength(1);
    expect(Window.toCuts(parts)).toEqual([null, 10, 20, 30]);
    expect(Window.fromCuts([null, 10, 20, 30])).toEqual(parts);
    expect(Window.toCuts(Window.of(5, 9).split([]))).toEqual([5, 9]);
    expect(() => w.split([40])).toThrow(RangeError);
    expect(() => w.split([20, 10])).toThrow(RangeError);
  });
});
