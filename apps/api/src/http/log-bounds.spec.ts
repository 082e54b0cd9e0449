import { describe, expect, it } from 'vitest';
import { boundLine, errSerializer, MAX_LOG_LINE } from './log-bounds';

describe('log bounds', () => {
  it('logs an error without the statement or its parameters', () => {
    const err = Object.assign(new Error('duplicate key value'), {
      query: 'INSERT INTO objects VALUES ($1)',
      parameters: ['{"secret":"object contents"}'],
      driverError: { code: '23505' },
    });
    const out = JSON.stringify(errSerializer(err));
    expect(out).toContain('duplicate key value');
    expect(out).toContain('23505');
    expect(out).not.toContain('object contents');
    expect(out).not.toContain('INSERT');
  });

  it('bounds the message and stack of an error', () => {
    const err = new Error('x'.repeat(100_000));
    const out = JSON.stringify(errSerializer(err));
    expect(out.length).toBeLessThan(6000);
  });

  it('replaces an over-long line with a valid, short JSON notice', () => {
    const line = `${JSON.stringify({ level: 30, time: 1, msg: 'request', url: 'a'.repeat(1_000_000) })}\n`;
    const out = boundLine(line);
    expect(out.length).toBeLessThan(MAX_LOG_LINE);
    expect(JSON.parse(out)).toMatchObject({ level: 30, msg: 'request', truncated_from_bytes: line.length });
    expect(boundLine('{"msg":"short"}\n')).toBe('{"msg":"short"}\n');
  });
});
