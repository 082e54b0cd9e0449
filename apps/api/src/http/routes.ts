import type { FastifyInstance, RouteOptions } from 'fastify';

/** The order methods are listed in an Allow header. */
const METHOD_ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

interface Route {
  readonly re: RegExp;
  readonly methods: ReadonlySet<string>;
}

/**
 * The routes Fastify registered (Nest's controllers, the TAXII 1.x module's routes, health and
 * metrics), recorded as they are added, so that a request the router could not match by method is
 * answered 405 with an Allow header naming what the router does serve at that path, rather than
 * 404. Read from the router, never a second table to keep in step with it.
 */
export class RouteTable {
  private readonly routes: Route[] = [];

  /** Records every route added to `fastify` from now on (call before any route is registered). */
  record(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route: RouteOptions) => this.add(route.method, route.url));
  }

  add(method: string | readonly string[], pattern: string): void {
    // HEAD routes are the ones Fastify adds for every GET; they are not named in Allow.
    const methods = new Set((typeof method === 'string' ? [method] : method).map((m) => m.toUpperCase()).filter((m) => m !== 'HEAD'));
    if (methods.size > 0) this.routes.push({ re: patternRegExp(pattern), methods });
  }

  /** The methods served at this path (in Allow order), or undefined if no route matches it with any method. */
  allowedMethods(url: string): readonly string[] | undefined {
    const path = url.split('?')[0] ?? url;
    const allowed = new Set<string>();
    for (const r of this.routes) if (r.re.test(path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size === 0) return undefined;
    return [...allowed].sort((a, b) => order(a) - order(b));
  }
}

function order(method: string): number {
  const i = METHOD_ORDER.indexOf(method);
  return i === -1 ? METHOD_ORDER.length : i;
}

/** A find-my-way pattern (static parts, `:param`, a final `*`) as a RegExp; a trailing slash is optional (ignoreTrailingSlash). */
function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/\/+$/, '')
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`);
}
