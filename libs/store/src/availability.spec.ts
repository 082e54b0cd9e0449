import { describe, expect, it } from 'vitest';
import { databaseUnavailable } from './availability';

describe('databaseUnavailable', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a client-side query timeout', new Error('Query read timeout')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['a server shutting down', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['statement_timeout', Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })],
    ['a connection exception', Object.assign(new Error('x'), { code: '08006' })],
    ['a wrapped driver error', Object.assign(new Error('Query failed'), { driverError: Object.assign(new Error('x'), { code: '57P03' }) })],
    ['an AggregateError of connect attempts', new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })])],
  ])('is true for %s', (_name, err) => {
    expect(databaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a syntax error', Object.assign(new Error('syntax error'), { code: '42601' })],
    ['a plain bug', new TypeError('x is undefined')],
    ['nothing', undefined],
  ])('is false for %s', (_name, err) => {
    expect(databaseUnavailable(err)).toBe(false);
  });
});
