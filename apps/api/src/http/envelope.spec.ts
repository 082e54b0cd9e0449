import { describe, expect, it } from 'vitest';
import { decodeUtf8, parseEnvelope } from './envelope';

const same = async (text: string): Promise<void> => {
  expect(await parseEnvelope(text)).toEqual(JSON.parse(text));
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
  ])('parses %s exactly as JSON.parse does', async (text) => {
    await same(text);
  });

  it('parses a large envelope in slices, exactly as JSON.parse does', async () => {
    const objects = Array.from({ length: 20_000 }, (_, i) => ({ id: `o-${i}`, s: 'q"\\'.repeat(i % 7), n: [i, { deep: { v: i } }], u: '\u00e9\u4e2d' }));
    await same(JSON.stringify({ objects, more: true }));
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
  ])('refuses %s as JSON.parse does', async (text) => {
    expect(() => JSON.parse(text)).toThrow();
    await expect(parseEnvelope(text)).rejects.toThrow();
  });

  it('refuses prototype-poisoning keys at the top level and in objects', async () => {
    await expect(parseEnvelope('{"__proto__":{"x":1},"objects":[]}')).rejects.toThrow();
    await expect(parseEnvelope('{"objects":[{"constructor":{"prototype":{"x":1}}}]}')).rejects.toThrow();
  });
});

describe('decodeUtf8', () => {
  it('decodes across slice boundaries and refuses invalid UTF-8', async () => {
    const text = '\u00e9\u4e2d\u{1f600}'.repeat(3_000_000);
    expect(await decodeUtf8(Buffer.from(text))).toBe(text);
    await expect(decodeUtf8(Buffer.from([0x7b, 0xff, 0x7d]))).rejects.toThrow();
  });
});

describe('parseEnvelope: the object cap', () => {
  it('stops scanning at the first element past the cap, before parsing any', async () => {
    const text = `{"objects":[${Array(1_000_000).fill('0').join(',')}]}`;
    const t0 = performance.now();
    await expect(parseEnvelope(text, 1000)).rejects.toThrow(/more than 1000 objects/);
    expect(performance.now() - t0).toBeLessThan(200);
    await expect(parseEnvelope('{"objects":[1,2]}', 2)).resolves.toEqual({ objects: [1, 2] });
  });
});
