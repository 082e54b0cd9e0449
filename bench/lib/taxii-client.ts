import { Pool } from 'undici';
import { API_ROOT } from './server';

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
const REQUEST_TIMEOUT_MS = 120_000;

export interface TaxiiResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** A keep-alive connection pool to one server, speaking TAXII 2.1 with the given Authorization header. */
export class TaxiiClient {
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;

  constructor(origin: string, authorization: string, connections: number) {
    this.pool = new Pool(origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    this.headers = {
      accept: TAXII_MEDIA_TYPE,
      authorization,
    };
  }

  static collectionPath(collectionId: string, endpoint: 'objects' | 'manifest'): string {
    return `/${API_ROOT}/collections/${collectionId}/${endpoint}/`;
  }

  async get(path: string): Promise<TaxiiResponse> {
    const res = await this.pool.request({ method: 'GET', path, headers: this.headers });
    return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
  }

  /** GET that only drains the body: for timed loops, where parsing would load the client. */
  async getStatus(path: string): Promise<number> {
    const res = await this.pool.request({ method: 'GET', path, headers: this.headers });
    await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
    return res.statusCode;
  }

  async post(path: string, body: string): Promise<TaxiiResponse> {
    const res = await this.pool.request({
      method: 'POST',
      path,
      headers: { ...this.headers, 'content-type': TAXII_MEDIA_TYPE },
      body,
    });
    return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
  }

  /** Closes every connection; the callers only do this once their requests have settled. */
  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

/** Parses a JSON body into an object, or throws naming the request. */
export function parseJsonObject(body: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`${what}: response is not JSON: ${body.slice(0, 300)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${what}: response is not a JSON object: ${body.slice(0, 300)}`);
  return parsed as Record<string, unknown>;
}

export function headerValue(res: TaxiiResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
