import type { StatusType } from '@taxiway/taxii1';

/** A failure answered as a TAXII Status Message of `type`, under HTTP `status`. */
interface MessageError {
  readonly type: StatusType;
  readonly status: number;
}

/** A failure of the JWT login, answered as JSON `{"error": message, "error_code": code}`. */
interface LoginError {
  readonly status: number;
  readonly message: string;
}

/**
 * The only place TAXII 1.x outcomes become HTTP statuses (docs/errors.md, "TAXII 1.x"). A code that
 * is a status type is that Status Message under HTTP 200 (cabby reads no other body); the transport
 * codes are a Status Message under another status; the LOGIN_ codes are the JWT login's JSON errors.
 */
export const TAXII1_ERROR_MAP = {
  BAD_MESSAGE: { type: 'BAD_MESSAGE', status: 200 },
  DENIED: { type: 'DENIED', status: 200 },
  DESTINATION_COLLECTION_ERROR: { type: 'DESTINATION_COLLECTION_ERROR', status: 200 },
  FAILURE: { type: 'FAILURE', status: 200 },
  INVALID_RESPONSE_PART: { type: 'INVALID_RESPONSE_PART', status: 200 },
  NOT_FOUND: { type: 'NOT_FOUND', status: 200 },
  RETRY: { type: 'RETRY', status: 200 },
  UNAUTHORIZED: { type: 'UNAUTHORIZED', status: 200 },
  UNSUPPORTED_MESSAGE: { type: 'UNSUPPORTED_MESSAGE', status: 200 },
  UNSUPPORTED_PROTOCOL: { type: 'UNSUPPORTED_PROTOCOL', status: 200 },
  UNSUPPORTED_QUERY: { type: 'UNSUPPORTED_QUERY', status: 200 },
  TOO_LARGE: { type: 'BAD_MESSAGE', status: 413 },
  TOO_SLOW: { type: 'BAD_MESSAGE', status: 408 },
  NOT_ACCEPTABLE: { type: 'UNSUPPORTED_MESSAGE', status: 406 },
  METHOD_NOT_ALLOWED: { type: 'BAD_MESSAGE', status: 405 },
  NO_SERVICE: { type: 'NOT_FOUND', status: 404 },
  LOGIN_MALFORMED: { status: 400, message: 'Send {"username": …, "password": …} as JSON or a form' },
  LOGIN_REJECTED: { status: 401, message: 'The credentials were not accepted' },
  LOGIN_THROTTLED: { status: 429, message: 'Too many failed authentication attempts' },
} as const satisfies Readonly<Record<string, MessageError | LoginError>>;

type Table = typeof TAXII1_ERROR_MAP;
export type Taxii1ErrorCode = keyof Table;
/** The codes answered as a Status Message (what `Taxii1Status` is built from). */
export type Taxii1MessageCode = { [K in Taxii1ErrorCode]: Table[K] extends MessageError ? K : never }[Taxii1ErrorCode];
/** The codes of the JWT login's JSON errors. */
export type Taxii1LoginCode = Exclude<Taxii1ErrorCode, Taxii1MessageCode>;

/** The HTTP status of a TAXII message answer that is no refusal in the table (any other status type included). */
export const TAXII1_ANSWER_HTTP = 200;
/** The HTTP status of OPTIONS on a TAXII 1.x path. */
export const TAXII1_OPTIONS_HTTP = 204;

export function taxii1HttpStatus(code: Taxii1ErrorCode): number {
  return TAXII1_ERROR_MAP[code].status;
}

export function taxii1StatusType(code: Taxii1MessageCode): StatusType {
  return TAXII1_ERROR_MAP[code].type;
}

/** The body of a login error; `error` is what the login answered before `error_code` existed. */
export interface Taxii1LoginErrorBody {
  readonly error: string;
  readonly error_code: Taxii1LoginCode;
}

/** A login error's HTTP status and JSON body; `message` replaces the table's. */
export function taxii1LoginError(code: Taxii1LoginCode, message?: string): { readonly status: number; readonly body: Taxii1LoginErrorBody } {
  const e = TAXII1_ERROR_MAP[code];
  return { status: e.status, body: { error: message ?? e.message, error_code: code } };
}
