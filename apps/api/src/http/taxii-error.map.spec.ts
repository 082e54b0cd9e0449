import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@taxiway/domain';
import { TAXII_ERROR_MAP } from './taxii-error.map';

describe('error catalogue', () => {
  const doc = readFileSync(resolve(__dirname, '../../../../docs/errors.md'), 'utf8');
  it.each(ERROR_CODES)('%s is mapped to a status and documented in docs/errors.md with that status', (code) => {
    const m = TAXII_ERROR_MAP[code];
    expect(m.status).toBeGreaterThanOrEqual(400);
    expect(m.title.length).toBeGreaterThan(0);
    expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| ${m.status} \\|`));
  });
});
