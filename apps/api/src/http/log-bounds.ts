/** No log line is longer than this (bytes of JSON); a longer one is replaced by a short notice. */
export const MAX_LOG_LINE = 16 * 1024;
const MAX_MESSAGE = 1000;
const MAX_STACK = 4000;

/**
 * How an error is logged: its type, code, message and stack, each bounded, and nothing else. A
 * failed statement's error carries the statement and its parameters (object contents): never logged.
 */
export function errSerializer(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { message: String(err).slice(0, MAX_MESSAGE) };
  const e = err as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown; driverError?: { code?: unknown } };
  const code = typeof e.code === 'string' ? e.code : typeof e.driverError?.code === 'string' ? e.driverError.code : undefined;
  return {
    type: typeof e.name === 'string' ? e.name : 'Error',
    message: (typeof e.message === 'string' ? e.message : '').slice(0, MAX_MESSAGE),
    ...(code !== undefined && { code }),
    ...(typeof e.stack === 'string' && { stack: e.stack.slice(0, MAX_STACK) }),
  };
}

/**
 * pino's last step before writing: a line over MAX_LOG_LINE (a huge URL, an unforeseen field) is
 * replaced by a valid JSON line that says so and keeps its level, time and message.
 */
export function boundLine(line: string): string {
  if (line.length <= MAX_LOG_LINE) return line;
  let head: { level?: unknown; time?: unknown; msg?: unknown; req_id?: unknown } = {};
  try {
    head = JSON.parse(line) as typeof head;
  } catch {
    // Not JSON: keep nothing of it but its length.
  }
  const notice = {
    level: head.level,
    time: head.time,
    req_id: head.req_id,
    msg: (typeof head.msg === 'string' ? head.msg : '').slice(0, 200),
    truncated_from_bytes: line.length,
  };
  return `${JSON.stringify(notice)}\n`;
}
