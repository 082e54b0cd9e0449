import { describe, expect, it } from 'vitest';
import { statusToJson } from './status';
import { formatTaxiiTimestamp } from './time';

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
