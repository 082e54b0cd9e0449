/**
 * Whether an error means the database cannot be reached or did not answer in time (as opposed to a
 * bug or a refused statement): the API answers those 503 with Retry-After (TAXII 1.x: RETRY). It
 * looks through TypeORM's QueryFailedError (driverError) and `cause` chains.
 */
export function databaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown; errors?: unknown };
  if (unavailableCode(e.code) || unavailableMessage(e.message)) return true;
  const inner = [e.driverError, e.cause, ...(Array.isArray(e.errors) ? (e.errors as unknown[]) : [])];
  return inner.some((x) => databaseUnavailable(x, depth + 1));
}

function unavailableCode(code: unknown): boolean {
  return typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'));
}

function unavailableMessage(message: unknown): boolean {
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(message));
}

/** Socket-level failures (Node's errno codes). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * SQLSTATEs of a server that is going away, starting, out of connections or that cancelled a
 * statement on statement_timeout (57014); class 08 (connection exceptions) is matched by prefix.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57P05', '53300', '57014']);

/** What node-postgres says when a connection drops or a client-side timeout fires. */
const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Query read timeout/i,
  /connection.*(closed|ended|lost)/i,
  /Client has encountered a connection error/i,
  /Cannot use a pool after calling end/i,
];
