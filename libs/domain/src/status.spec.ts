import { describe, expect, it } from 'vitest';
import { statusJsonText, statusToJson, type StatusResource } from './status';
import { formatTaxiiTimestamp } from './time';
import { joinPaced, Pacer } from './pacer';

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

describe('statusJsonText', () => {
  it('is the text of statusToJson, built in slices, for small and large statuses', async () => {
    const details = (n: number, message?: string): StatusResource['successes'] =>
      Array.from({ length: n }, (_, i) => ({
        id: `indicator--${i}`,
        version: '2024-01-01T00:00:00.000Z',
        ...(message !== undefined && { message: `${message} "${i}"` }),
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
      expect(await statusJsonText(s, formatTaxiiTimestamp)).toBe(JSON.stringify(statusToJson(s, formatTaxiiTimestamp)));
    }
  });
});

describe('Pacer and joinPaced', () => {
  it('joins as Array.join does, yielding to the event loop while it runs long', async () => {
    const items = Array.from({ length: 300_000 }, (_, i) => i);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const text = await joinPaced(items, (i) => JSON.stringify({ i, s: 'x'.repeat(i % 50) }), ',', new Pacer(2));
    clearInterval(timer);
    expect(text).toBe(items.map((i) => JSON.stringify({ i, s: 'x'.repeat(i % 50) })).join(','));
    expect(ticks).toBeGreaterThan(0);
  });
});
