import { createServer, type Server } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CLIENT_ERROR_REASONS, type ApiMetrics } from '@taxiway/metrics';

/** Samples a gauge at scrape time (the database pool, the outbox); a failing sampler leaves its gauge as it was. */
export type ScrapeHook = () => void | Promise<void>;

/** Counts every answer by route template (bounded: unknown paths are `unmatched`), method and status. */
export function installHttpMetrics(app: FastifyInstance, m: ApiMetrics): void {
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    m.httpRequests.inc({ route, method: req.method, status: String(status) });
    m.httpDuration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
    if (status >= 400 && status < 500) m.clientErrors.inc({ status: String(status), reason: CLIENT_ERROR_REASONS[status] ?? 'other' });
    countBytes(req, reply, m);
  });
}

/** Bytes in (request body of an accepted envelope) and out (a page of objects, manifest or versions), per collection. */
function countBytes(req: FastifyRequest, reply: FastifyReply, m: ApiMetrics): void {
  const ctx = req.taxii;
  if (ctx?.root === undefined || ctx.collection === undefined) return;
  const labels = { api_root: ctx.root.path, collection: m.collectionLabel(ctx.collection.name) };
  if (reply.statusCode === 202 && req.taxiiBodyBytes !== undefined) m.bytesIngested.inc(labels, req.taxiiBodyBytes);
  else if (reply.statusCode === 200 && req.taxiiObjects !== undefined) m.bytesServed.inc(labels, Number(reply.getHeader('content-length') ?? 0));
}

export async function metricsText(m: ApiMetrics, hooks: readonly ScrapeHook[]): Promise<string> {
  await Promise.all(hooks.map(async (h) => h()?.catch(() => undefined)));
  return m.registry.metrics();
}

/** /metrics on its own port (METRICS_PORT), outside the TAXII surface. */
export async function startMetricsServer(m: ApiMetrics, hooks: readonly ScrapeHook[], host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metricsText(m, hooks).then(
      (text) => {
        res.writeHead(200, { 'content-type': m.registry.contentType });
        res.end(text);
      },
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr !== null ? addr.port : port };
}
