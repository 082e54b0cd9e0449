import type { ErrorCode } from '@taxiway/domain';

/** The only place domain error codes become HTTP statuses and TAXII error titles (docs/errors.md). */
export const TAXII_ERROR_MAP: Readonly<Record<ErrorCode, { readonly status: number; readonly title: string }>> = {
  BadRequest: { status: 400, title: 'Bad request' },
  InvalidFilter: { status: 400, title: 'Invalid filter parameter' },
  InvalidCursor: { status: 400, title: 'Invalid next parameter' },
  Unauthenticated: { status: 401, title: 'Authentication required' },
  Forbidden: { status: 403, title: 'Forbidden' },
  NotFound: { status: 404, title: 'Not found' },
  MethodNotAllowed: { status: 405, title: 'Method not allowed' },
  NotAcceptable: { status: 406, title: 'Not acceptable' },
  PayloadTooLarge: { status: 413, title: 'Payload too large' },
  RequestTimeout: { status: 408, title: 'Request timeout' },
  UnsupportedMediaType: { status: 415, title: 'Unsupported media type' },
  Unprocessable: { status: 422, title: 'Unprocessable content' },
  TooManyRequests: { status: 429, title: 'Too many requests' },
  Conflict: { status: 409, title: 'Conflict' },
  InvalidConfig: { status: 500, title: 'Server misconfigured' },
  Unavailable: { status: 503, title: 'Service unavailable' },
  Internal: { status: 500, title: 'Internal server error' },
};

const BY_STATUS = new Map<number, ErrorCode>([
  [400, 'BadRequest'],
  [401, 'Unauthenticated'],
  [403, 'Forbidden'],
  [404, 'NotFound'],
  [405, 'MethodNotAllowed'],
  [406, 'NotAcceptable'],
  [408, 'RequestTimeout'],
  [413, 'PayloadTooLarge'],
  [415, 'UnsupportedMediaType'],
  [422, 'Unprocessable'],
  [429, 'TooManyRequests'],
  [503, 'Unavailable'],
]);

/** For errors raised by the framework (Fastify/Nest) with only a status code. */
export function codeForStatus(status: number): ErrorCode {
  return BY_STATUS.get(status) ?? (status >= 500 ? 'Internal' : 'BadRequest');
}
