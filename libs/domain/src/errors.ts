/**
 * The closed set of domain errors. Each carries a stable code and a message, never an HTTP status:
 * the API maps codes to statuses in exactly one table (apps/api/src/http/taxii-error.map.ts).
 */
export const ERROR_CODES = [
  'BadRequest',
  'InvalidFilter',
  'InvalidCursor',
  'Unauthenticated',
  'Forbidden',
  'NotFound',
  'MethodNotAllowed',
  'NotAcceptable',
  'PayloadTooLarge',
  'RequestTimeout',
  'UnsupportedMediaType',
  'Unprocessable',
  'TooManyRequests',
  'Conflict',
  'InvalidConfig',
  'Unavailable',
  'Internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = code;
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>): DomainError => new DomainError('BadRequest', message, details);
export const invalidFilter = (message: string, details?: Record<string, unknown>): DomainError => new DomainError('InvalidFilter', message, details);
export const notFound = (message = 'The requested resource does not exist or is not visible to the caller'): DomainError =>
  new DomainError('NotFound', message);
export const forbidden = (message: string): DomainError => new DomainError('Forbidden', message);
export const unprocessable = (message: string, details?: Record<string, unknown>): DomainError => new DomainError('Unprocessable', message, details);

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
