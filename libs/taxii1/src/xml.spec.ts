import { describe, expect, it } from 'vitest';
import { decodeXml, parseXml, scopeOf, XmlRejected } from './xml';

describe('parseXml', () => {
  it('keeps the exact source offsets of every element content', () => {
    const s = '<a xmlns="u"><c>x</c>\n<c>y&amp;<![CDATA[<z>]]></c><d/></a>';
    const r = parseXml(s);
    expect(r.children.map((c) => s.slice(c.innerStart, c.innerEnd))).toEqual(['x', 'y&amp;<![CDATA[<z>]]>', '']);
    expect(r.children[1]!.text).toBe('y&<z>');
  });

  it('resolves namespaces by URI, whatever the prefix, and records the declarations in scope', () => {
    const r = parseXml('<p:a xmlns:p="urn:one" xmlns:q="urn:two"><q:b xmlns="urn:three"/></p:a>');
    expect([r.ns, r.local]).toEqual(['urn:one', 'a']);
    expect(r.children[0]!.ns).toBe('urn:two');
    expect(scopeOf(r.children[0]!)).toEqual({ p: 'urn:one', q: 'urn:two', '': 'urn:three' });
  });

  it.each([
    ['an internal DTD with entities', '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'],
    ['an external DTD', '<!DOCTYPE a SYSTEM "http://127.0.0.1/x.dtd"><a/>'],
    ['a lower-case doctype', '<!doctype a><a/>'],
    ['an undeclared entity', '<a>&e;</a>'],
    ['two roots', '<a/><b/>'],
    ['an unbound prefix', '<p:a/>'],
    ['mismatched tags', '<a></b>'],
    ['no root', '   '],
  ])('refuses %s', (_what, doc) => {
    expect(() => parseXml(doc)).toThrow(XmlRejected);
  });

  it('treats <!DOCTYPE inside CDATA or comments as text', () => {
    expect(parseXml('<a><![CDATA[<!DOCTYPE x>]]><!-- <!DOCTYPE y> --></a>').text).toBe('<!DOCTYPE x>');
  });

  it('bounds depth and element count before building more of the tree', () => {
    const deep = `${'<a>'.repeat(50)}${'</a>'.repeat(50)}`;
    expect(() => parseXml(deep, { maxDepth: 49, maxElements: 1000 })).toThrow(/deeper than 49/);
    expect(() => parseXml(deep, { maxDepth: 50, maxElements: 1000 })).not.toThrow();
    expect(() => parseXml(`<r>${'<a/>'.repeat(100)}</r>`, { maxDepth: 10, maxElements: 100 })).toThrow(/more than 100 elements/);
  });

  it('costs linear time for namespace-heavy and CDATA-heavy documents', () => {
    const decls = (n: number): string => Array.from({ length: n }, (_, i) => `xmlns:p${i}="urn:${i}"`).join(' ');
    let t0 = performance.now();
    expect(() => parseXml(`<r ${decls(201)}/>`)).toThrow(/more than 200 namespaces/);
    // The most declarations allowed on the root, and many children that each declare more: linear.
    const heavy = parseXml(`<r ${decls(200)}>${Array.from({ length: 5000 }, (_, i) => `<c xmlns:q${i}="urn:q"/>`).join('')}</r>`);
    for (const c of heavy.children) expect(Object.keys(scopeOf(c)).length).toBe(201);
    expect(performance.now() - t0).toBeLessThan(1500);
    const cdata = `<!DOCTYPE x>${'<![CDATA['.repeat(50_000)}`;
    t0 = performance.now();
    expect(() => parseXml(cdata)).toThrow(XmlRejected);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('refuses a billion-laughs document in well under a second', () => {
    const lol = `<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${`&${i === 0 ? 'a' : 'b'.repeat(i)};`.repeat(10)}">`).join('')}]><l>&bbbbbbbbb;</l>`;
    const t0 = performance.now();
    expect(() => parseXml(lol)).toThrow(XmlRejected);
    expect(performance.now() - t0).toBeLessThan(200);
  });
});

describe('decodeXml', () => {
  it('decodes UTF-8 and drops a byte order mark', () => {
    expect(decodeXml(Buffer.from('\ufeff<a>é</a>', 'utf8'))).toBe('<a>é</a>');
  });

  it('refuses invalid UTF-8 and other declared encodings', () => {
    expect(() => decodeXml(Buffer.from([0x3c, 0x61, 0xff, 0x3e]))).toThrow(/not valid UTF-8/);
    expect(() => decodeXml(Buffer.from('<?xml version="1.0" encoding="UTF-16"?><a/>'))).toThrow(/UTF-16 is not supported/);
    expect(decodeXml(Buffer.from("<?xml version='1.0' encoding='utf-8'?><a/>"))).toContain('<a/>');
  });
});
