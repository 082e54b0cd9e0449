import { describe, expect, it } from 'vitest';
import { decodeUtf8, parseEnvelope } from './envelope';

const same = (text: string): void => {
  expect(parseEnvelope(text)).toEqual(JSON.parse(text));
};

describe('parseEnvelope', () => {
  it.each([
    '{"objects":[]}',
    '{"objects":[ ]}',
    '  {"objects" : [ {"a":1} , {"b":[1,{"c":"]"}]} ]}  ',
    '{"more":false,"objects":[{"id":"x","s":"a\\"b\\\\","t":"\\\\"}],"next":"n"}',
    '{"type":"bundle","id":"bundle--1","objects":[{"x":{"objects":[1,2]}},{"y":"},{"}]}',
    '{"objects":[{"a":1}],"objects":[{"b":2}]}',
    '{"x":{"objects":[{"nested":true}]},"objects":[{"top":true}]}',
    '{"objects":[0,"x",null,[1],{"a":1}]}',
    '{"objects":{"not":"an array"}}',
    '{"no":"objects"}',
    '["an","array"]',
    '"a string"',
  ])('parses %s exactly as JSON.parse does', (text) => {
    same(text);
  });

  it('parses a large envelope element by element, exactly as JSON.parse does', () => {
    const objects = Array.from({ length: 20_000 }, (_, i) => ({ id: `o-${i}`, s: 'q"\\'.repeat(i % 7), n: [i, { deep: { v: i } }], u: '\u00e9\u4e2d' }));
    same(JSON.stringify({ objects, more: true }));
  });

  it.each([
    '{"objects":[{"a":1},]}',
    '{"objects":[,{"a":1}]}',
    '{"objects":[{"a":1},,{"b":2}]}',
    '{"objects":[{"a":1} {"b":2}]}',
    '{"objects":[{"a":1}]',
    '{"objects":[{"a":1}]} trailing',
    '{"objects":["unterminated]}',
    '{"objects":[{"a":1}]}}',
  ])('refuses %s as JSON.parse does', (text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(() => parseEnvelope(text)).toThrow();
  });

  it('refuses prototype-poisoning keys at the top level and in objects', () => {
    expect(() => parseEnvelope('{"__proto__":{"x":1},"objects":[]}')).toThrow();
    expect(() => parseEnvelope('{"objects":[{"constructor":{"prototype":{"x":1}}}]}')).toThrow();
  });
});

describe('decodeUtf8', () => {
  it('decodes UTF-8 and refuses invalid UTF-8', () => {
    const text = '\u00e9\u4e2d\u{1f600}'.repeat(1000);
    expect(decodeUtf8(Buffer.from(text))).toBe(text);
    expect(() => decodeUtf8(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow();
  });
});

describe('parseEnvelope: the object cap', () => {
  it('stops scanning at the first element past the cap, before parsing any', () => {
    const text = `{"objects":[${Array(1_000_000).fill('0').join(',')}]}`;
    const t0 = performance.now();
    expect(() => parseEnvelope(text, 1000)).toThrow(/more than 1000 objects/);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(parseEnvelope('{"objects":[1,2]}', 2)).toEqual({ objects: [1, 2] });
  });
});
