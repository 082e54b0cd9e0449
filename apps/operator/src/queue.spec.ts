import { describe, expect, it } from 'vitest';
import { Backoff, KeyedQueue } from './queue';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('KeyedQueue', () => {
  it('never runs one key twice at once, runs it again if added meanwhile, and runs other keys in parallel', async () => {
    const log: string[] = [];
    let running = 0;
    let peak = 0;
    const q = new KeyedQueue(async (key) => {
      running++;
      peak = Math.max(peak, running);
      log.push(`start ${key}`);
      await tick(20);
      log.push(`end ${key}`);
      running--;
    }, 4);
    q.add('a');
    q.add('a'); // queued once
    q.add('b');
    await tick(5);
    q.add('a'); // while a runs: once more afterwards
    await q.idle();
    expect(log.filter((l) => l === 'start a')).toHaveLength(2);
    expect(log.indexOf('end a')).toBeLessThan(log.lastIndexOf('start a'));
    expect(peak).toBe(2);
  });

  it('keeps only the earliest delayed add of a key', async () => {
    const runs: number[] = [];
    const q = new KeyedQueue(() => Promise.resolve(void runs.push(Date.now())), 1);
    q.addAfter('k', 200);
    q.addAfter('k', 10);
    q.addAfter('k', 300);
    await tick(80);
    expect(runs).toHaveLength(1);
    await q.stop();
  });
});

describe('Backoff', () => {
  it('doubles per failure up to the cap and resets on success', () => {
    const b = new Backoff(1000, 5000);
    expect([b.next('k'), b.next('k'), b.next('k'), b.next('k')]).toEqual([1000, 2000, 4000, 5000]);
    b.reset('k');
    expect(b.next('k')).toBe(1000);
  });
});
