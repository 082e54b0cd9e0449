import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STATUS_TYPES_10, type StatusType } from '@taxiway/taxii1';
import { TAXII1_ERROR_MAP, taxii1LoginError, type Taxii1ErrorCode, type Taxii1LoginCode, type Taxii1MessageCode } from './taxii1-error.map';
import { Taxii1Status } from './taxii1.service';

const CODES = Object.keys(TAXII1_ERROR_MAP) as Taxii1ErrorCode[];
const isMessageCode = (code: Taxii1ErrorCode): code is Taxii1MessageCode => 'type' in TAXII1_ERROR_MAP[code];
const MESSAGE_CODES = CODES.filter(isMessageCode);
const LOGIN_CODES = CODES.filter((c): c is Taxii1LoginCode => !isMessageCode(c));

/** The docs' TAXII 1.x section (the TAXII 2.1 table above it is checked by taxii-error.map.spec.ts). */
function taxii1Section(): string {
  const doc = readFileSync(resolve(__dirname, '../../../../docs/errors.md'), 'utf8');
  const at = doc.indexOf('\n## TAXII 1.x\n');
  expect(at, 'docs/errors.md has a "## TAXII 1.x" section').toBeGreaterThan(0);
  const next = doc.indexOf('\n## ', at + 1);
  return doc.slice(at, next < 0 ? undefined : next);
}

describe('TAXII 1.x error catalogue', () => {
  const doc = taxii1Section();

  it.each(MESSAGE_CODES)('%s is documented in docs/errors.md with its status type and HTTP status', (code) => {
    const e = TAXII1_ERROR_MAP[code];
    expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| ${e.type} \\| ${e.status} \\|`));
  });

  it.each(LOGIN_CODES)('%s is documented in docs/errors.md with its HTTP status', (code) => {
    expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| ${TAXII1_ERROR_MAP[code].status} \\|`));
  });

  it('documents no code the table lacks', () => {
    const documented = [...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...CODES].sort());
  });

  it('answers a code that is a status type as that status type under HTTP 200, and the others under an error status', () => {
    for (const code of MESSAGE_CODES) {
      const e = TAXII1_ERROR_MAP[code];
      if ((code as StatusType) === e.type) expect(e.status, code).toBe(200);
      else expect(e.status, code).toBeGreaterThanOrEqual(400);
    }
    for (const code of LOGIN_CODES) expect(TAXII1_ERROR_MAP[code].status, code).toBeGreaterThanOrEqual(400);
  });

  it('sends the transport refusals in a status type TAXII 1.0 defines', () => {
    for (const code of MESSAGE_CODES.filter((c) => TAXII1_ERROR_MAP[c].status !== 200))
      expect(STATUS_TYPES_10.has(TAXII1_ERROR_MAP[code].type), code).toBe(true);
  });

  it.each(MESSAGE_CODES)('Taxii1Status(%s) carries the status type and HTTP status of the table', (code) => {
    const s = new Taxii1Status(code, 'why', [['ITEM', 'x']]);
    expect({ code: s.code, type: s.type, httpStatus: s.httpStatus }).toEqual({
      code,
      type: TAXII1_ERROR_MAP[code].type,
      httpStatus: TAXII1_ERROR_MAP[code].status,
    });
    expect(s.toMessage()).toEqual({ kind: 'status', type: TAXII1_ERROR_MAP[code].type, message: 'why', details: [['ITEM', 'x']] });
  });

  it('gives a login error its status and a body with the message and the code', () => {
    expect(taxii1LoginError('LOGIN_THROTTLED')).toEqual({
      status: 429,
      body: { error: 'Too many failed authentication attempts', error_code: 'LOGIN_THROTTLED' },
    });
    expect(taxii1LoginError('LOGIN_REJECTED', 'Nope').body).toEqual({ error: 'Nope', error_code: 'LOGIN_REJECTED' });
  });
});

describe('TAXII 1.x exchange code', () => {
  // Comments may name statuses; code may not.
  const code = (file: string): string =>
    readFileSync(resolve(__dirname, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');

  it.each(['taxii1.http.ts', 'taxii1.service.ts'])('%s chooses no HTTP status (they come from taxii1-error.map.ts)', (file) => {
    const src = code(file);
    expect(src).not.toMatch(/\.code\(\s*\d/);
    expect(src).not.toMatch(/\b(?:http|httpStatus|status|statusCode)\s*[:=]\s*\d/);
    expect(src).not.toMatch(/\?\s*[1-5]\d\d\s*:/);
    expect(src).not.toMatch(/\b(?:4\d\d|50[1-9])\b/);
  });
});
