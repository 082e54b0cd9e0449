import { describe, expect, it } from 'vitest';
import { backoffMs } from './push-worker';
import { hostAllowed, partCuts } from './taxii1.service';

describe('partCuts', () => {
  it('bounds every part by labels: the lower bound, the last label of each full part, the window end', () => {
    expect(partCuts(undefined, [], 9)).toEqual([null, 9]);
    expect(partCuts(5, [10, 20], 30)).toEqual([5, 10, 20, 30]);
  });
});

describe('hostAllowed', () => {
  it('allows any host without a list, else exact names and .suffixes', () => {
    expect(hostAllowed('10.0.0.1', [])).toBe(true);
    expect(hostAllowed('a.example.org', ['.example.org'])).toBe(true);
    expect(hostAllowed('example.org.evil', ['.example.org'])).toBe(false);
    expect(hostAllowed('INBOX.example.com', ['inbox.example.com'])).toBe(true);
  });
});

describe('backoffMs', () => {
  it('doubles per attempt within ±20%, up to the cap', () => {
    const cfg = { pushRetryBaseMs: 100, pushRetryMaxMs: 1000 };
    expect(backoffMs(0, cfg, () => 0.5)).toBe(100);
    expect(backoffMs(3, cfg, () => 0.5)).toBe(800);
    expect(backoffMs(10, cfg, () => 0.5)).toBe(1000);
    expect(backoffMs(1, cfg, () => 0)).toBe(160);
    expect(backoffMs(1, cfg, () => 1)).toBe(240);
  });
});
