import type { FastifyInstance } from 'fastify';

/** One access-log line per response (Fastify's own request logging is off). */
export function installAccessLog(fastify: FastifyInstance): void {
  fastify.addHook('onResponse', async (req, reply) => {
    req.log.info(
      {
        req_id: req.id,
        method: req.method,
        route: req.routeOptions.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        principal: req.taxii?.principal.name,
        api_root: req.taxii?.root?.path,
        collection: req.taxii?.collection?.name,
        objects: req.taxiiObjects,
      },
      'request',
    );
  });
}
