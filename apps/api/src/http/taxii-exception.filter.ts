import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, isDomainError, type ErrorCode } from '@taxiway/domain';
import { databaseUnavailable } from '@taxiway/store';
import type { RouteTable } from './routes';
import { codeForStatus, TAXII_ERROR_MAP } from './taxii-error.map';
import { sendTaxii } from './media';

export const WWW_AUTHENTICATE = 'Basic realm="taxiway", charset="UTF-8"';

interface Rendered {
  readonly status: number;
  readonly code: ErrorCode;
  readonly description: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** Seconds for Retry-After (429, 503). */
  readonly retryAfter?: number;
}

/** How long a client is told to wait when the database is unavailable. */
const DATABASE_RETRY_SECONDS = 5;

const SERVER_FAILED = 'The server failed to process the request';

/** Maps any thrown value to the status, TAXII error code and description of its error resource. */
function classify(err: unknown, req: FastifyRequest, routes: RouteTable): Rendered {
  if (isDomainError(err)) return classifyDomainError(err);
  if (databaseUnavailable(err)) {
    return {
      status: 503,
      code: 'Unavailable',
      description: 'The database is unavailable or did not answer in time; retry shortly',
      retryAfter: DATABASE_RETRY_SECONDS,
    };
  }
  if (err instanceof HttpException) return classifyHttpException(err, req, routes);
  return classifyFastifyError(err as FastifyErrorShape);
}

/** Domain errors keep their code; 5xx hide their message and details. */
function classifyDomainError(err: DomainError): Rendered {
  const m = TAXII_ERROR_MAP[err.code];
  return {
    status: m.status,
    code: err.code,
    description: m.status >= 500 ? SERVER_FAILED : err.message,
    ...(err.details !== undefined && m.status < 500 && { details: err.details }),
  };
}

/** Nest's HTTP exceptions; the router's 404 becomes 405 on a known path with another method. */
function classifyHttpException(err: HttpException, req: FastifyRequest, routes: RouteTable): Rendered {
  const status = err.getStatus();
  if (status === 404 && routes.allowedMethods(req.url) !== undefined) {
    return { status: 405, code: 'MethodNotAllowed', description: `${req.method} is not allowed here` };
  }
  if (status === 404) return { status, code: 'NotFound', description: 'No such resource' };
  const cause = (err as { cause?: { code?: string } }).cause;
  return {
    status,
    code: codeForStatus(status),
    description: httpExceptionDescription(err, status),
    ...(cause?.code !== undefined && { details: { cause: cause.code } }),
  };
}

function httpExceptionDescription(err: HttpException, status: number): string {
  if (status === 413) return 'The request body is larger than this API root accepts';
  return status < 500 ? err.message : SERVER_FAILED;
}

/** What Fastify's own errors (and anything else thrown) may carry. */
interface FastifyErrorShape {
  readonly statusCode?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
}

/** Fastify's 4xx errors keep their status and message; anything else is an internal error. */
function classifyFastifyError(fst: FastifyErrorShape): Rendered {
  if (typeof fst.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
    return { status: fst.statusCode, code: codeForStatus(fst.statusCode), description: typeof fst.message === 'string' ? fst.message : 'Bad request' };
  }
  return { status: 500, code: 'Internal', description: SERVER_FAILED };
}

/**
 * Renders every error, from controllers, Fastify hooks, the body parser or the router, as a TAXII
 * error resource in `application/taxii+json;version=2.1`, with `error_id` = the request id, which
 * is also logged.
 */
@Catch()
export class TaxiiExceptionFilter implements ExceptionFilter {
  /** `routes`: what the router serves, for 405 and Allow. */
  constructor(private readonly routes: RouteTable) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const r = classify(err, req, this.routes);
    const log = { error_id: req.id, status: r.status, error_code: r.code, method: req.method, url: req.url.slice(0, 2048) };
    if (r.status === 503) req.log.warn({ ...log, err }, 'request refused: database unavailable');
    else if (r.status >= 500) req.log.error({ ...log, err }, 'request failed');
    else req.log.info({ ...log, reason: r.description }, 'request refused');
    if (reply.sent) return;
    if (r.status === 401) void reply.header('www-authenticate', WWW_AUTHENTICATE);
    if (r.status === 405) void reply.header('allow', (this.routes.allowedMethods(req.url) ?? []).join(', '));
    if (r.status === 429 || r.status === 503) void reply.header('retry-after', String(retryAfterSeconds(r)));
    sendTaxii(reply, r.status, taxiiErrorJson(r, String(req.id)));
  }
}

export { DomainError };

/** The TAXII 2.1 error resource of an outcome (title from the one error table). */
export function taxiiErrorJson(r: Pick<Rendered, 'code' | 'description' | 'details'> & { status: number }, errorId: string): string {
  return JSON.stringify({
    title: TAXII_ERROR_MAP[r.code].title,
    description: r.description,
    error_id: errorId,
    error_code: r.code,
    http_status: String(r.status),
    ...(r.details !== undefined && { details: r.details }),
  });
}

/**
 * Errors of the HTTP layer itself, before any route (a malformed request line or header, headers
 * too large, a URL Fastify cannot decode, a path parameter over the length bound), as TAXII error
 * resources with the status the layer chose. `clientError` has only the socket: the answer is
 * written raw and the connection closed.
 */
export function frameworkErrorJson(status: number, message: string, errorId: string): string {
  const code = codeForStatus(status);
  return taxiiErrorJson({ status, code, description: message.slice(0, 300) }, errorId);
}

/** Seconds for Retry-After: what the limiter said, at least 1. */
function retryAfterSeconds(r: Rendered): number {
  const v = r.retryAfter ?? r.details?.['retry_after_seconds'];
  return typeof v === 'number' && v >= 1 ? v : 1;
}
