import { describe, expect, it } from 'vitest';
import { MalformedPage, readPageEnvelope } from './page-envelope';

const STIX21 = ['application/stix+json;version=2.1'];
const read = (text: string | Uint8Array): ReturnType<typeof readPageEnvelope> => readPageEnvelope(typeof text === 'string' ? Buffer.from(text) : text, STIX21);
const sco = (n: number, extra = ''): string =>
  `{"type":"ipv4-addr","id":"ipv4-addr--00000000-0000-4000-8000-${String(n).padStart(12, '0')}","value":"10.0.0.${n}"${extra}}`;

describe('readPageEnvelope', () => {
  it('slices objects whose strings hold brackets, commas, quotes and backslashes, and ignores nested "objects" keys', () => {
    const a = sco(1, `,"x_note":"]},{\\"objects\\":[ \\\\","x_nested":{"objects":[1,2,{"objects":[]}]}`);
    const b = sco(2, `,"x_path":"C:\\\\dir\\\\"`);
    const text = `{"title":"objects","objects" :[${a},${b}],"more":true}`;
    expect(read(text)).toEqual({ count: 2, more: true, objects: [a, b], invalid: [] });
  });

  it('reads an envelope whose objects come after more and next, with a byte order mark, and a numeric next as text', () => {
    expect(read(`\ufeff{ "next": 17, "more": false, "objects": [ ${sco(3)} ] }`)).toEqual({
      count: 1,
      more: false,
      next: '17',
      objects: [sco(3)],
      invalid: [],
    });
  });

  it('reads pages without objects: no key, null, an empty list', () => {
    for (const t of ['{}', '{"objects":null,"more":false}', '{"objects":[ ]}']) expect(read(t).count).toBe(0);
    expect(read('{"more":"yes","next":{}}')).toEqual({ count: 0, objects: [], invalid: [] });
  });

  it('lists non-objects, invalid STIX and prototype-poisoning objects as invalid, keeping the rest', () => {
    const bad = `{"type":"ipv4-addr","id":"ipv4-addr--00000000-0000-4000-8000-000000000009","__proto__":{"x":1}}`;
    const r = read(`{"objects":[null,"s",[1],${sco(4)},{"type":"x"},${bad}]}`);
    expect(r.count).toBe(6);
    expect(r.objects).toEqual([sco(4)]);
    expect(r.invalid.map((i) => i.index)).toEqual([0, 1, 2, 4, 5]);
    expect(r.invalid[4]?.message).toMatch(/prototype/);
  });

  it('refuses what is not an envelope: invalid UTF-8, not JSON, two objects lists, stray commas, cut short', () => {
    for (const t of [
      Uint8Array.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]),
      'nope',
      '"objects"',
      `{"objects":[${sco(1)}],"objects":[${sco(2)}]}`,
      `{"objects":[,${sco(1)}]}`,
      `{"objects":[${sco(1)},,${sco(2)}]}`,
      `{"objects":[${sco(1)}`,
      `{"objects":[${sco(1)}]}}`,
      '{"objects":["unterminated]}',
      '{"objects":[]',
      '{"objects":[{"a":1},{"b":}]}',
    ])
      expect(() => read(t), String(t)).toThrow(MalformedPage);
  });
});
