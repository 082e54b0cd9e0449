import { describe, expect, it } from 'vitest';
import { statusJsonBytes, statusToJson, type StatusResource } from './status';
import { formatTaxiiTimestamp } from './time';
import { joinPacedBytes, Pacer } from './pacer';

describe('statusToJson', () => {
  it('emits every count, lists whose lengths match, and no empty lists', () => {
    const j = statusToJson(
      {
        id: 's',
        status: 'complete',
        requestTimestampUs: 0,
        totalCount: 2,
        successes: [{ id: 'a', version: 'v' }],
        failures: [{ id: 'b', version: 'v', message: 'x' }],
        pendings: [],
      },
      formatTaxiiTimestamp,
    );
    expect(j).toEqual({
      id: 's',
      status: 'complete',
      request_timestamp: '1970-01-01T00:00:00.000000Z',
      total_count: 2,
      success_count: 1,
      successes: [{ id: 'a', version: 'v' }],
      failure_count: 1,
      failures: [{ id: 'b', version: 'v', message: 'x' }],
      pending_count: 0,
    });
    expect(j).not.toHaveProperty('pendings');
  });
  it('refuses to serialize counts that do not add up', () => {
    expect(() =>
      statusToJson({ id: 's', status: 'complete', requestTimestampUs: 0, totalCount: 3, successes: [], failures: [], pendings: [] }, formatTaxiiTimestamp),
    ).toThrow(/add up/);
  });
});

describe('statusJsonBytes', () => {
  it('is the UTF-8 of statusToJson, built in slices, for small and large statuses', async () => {
    const details = (n: number, message?: string): StatusResource['successes'] =>
      Array.from({ length: n }, (_, i) => ({
        id: `indicator--${i}`,
        version: '2024-01-01T00:00:00.000Z',
        ...(message !== undefined && { message: `${message} "${i}"` }),
        reason: message === undefined ? ('stored' as const) : ('conflict' as const),
      }));
    for (const [ok, failed] of [
      [0, 1],
      [1, 0],
      [3, 2],
      [150_000, 1_000],
    ] as const) {
      const s: StatusResource = {
        id: 's',
        status: 'complete',
        requestTimestampUs: 1_700_000_000_123_456,
        totalCount: ok + failed,
        successes: details(ok),
        failures: details(failed, 'conflict'),
        pendings: [],
      };
      const text = (await statusJsonBytes(s, formatTaxiiTimestamp)).toString('utf8');
      expect(text).toBe(JSON.stringify(statusToJson(s, formatTaxiiTimestamp)));
      // The structured reason is for metrics only: the TAXII resource has id, version and message.
      expect(text).not.toContain('"reason"');
    }
  });
});

describe('Pacer and joinPacedBytes', () => {
  it('joins as Array.join does, yielding to the event loop while it runs long', async () => {
    const items = Array.from({ length: 300_000 }, (_, i) => i);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const bytes = await joinPacedBytes(items, (i) => JSON.stringify({ i, s: 'x'.repeat(i % 50) }), ['', ''], new Pacer(2));
    clearInterval(timer);
    expect(bytes.toString('utf8')).toBe(items.map((i) => JSON.stringify({ i, s: 'x'.repeat(i % 50) })).join(','));
    expect(ticks).toBeGreaterThan(0);
  });

  it('joinPacedBytes is the UTF-8 of prefix + join + suffix, across parts and multi-byte characters', async () => {
    for (const n of [0, 1, 2, 50_000]) {
      const items = Array.from({ length: n }, (_, i) => `é${i}✓\u{1f600}`);
      const bytes = await joinPacedBytes(items, (x) => JSON.stringify(x), ['[', ']'], new Pacer(1));
      expect(bytes.toString('utf8')).toBe(JSON.stringify(items));
    }
  });
});
