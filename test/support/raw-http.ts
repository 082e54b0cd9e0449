import { connect } from 'node:net';

/** What came back on a raw connection. */
export interface RawResponse {
  /** 0 when no status line arrived. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** How the connection ended: closed by the server (`end`), reset, or still open when we stopped waiting. */
  readonly ended: 'end' | 'reset' | 'open';
  /** Body bytes we managed to write before the answer or the close. */
  readonly sent: number;
  readonly ms: number;
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Body chunks, sent with chunked transfer encoding unless `contentLength` is declared. */
  readonly chunks?: AsyncIterable<Buffer> | Iterable<Buffer>;
  /** Declare this Content-Length and send the chunks raw. */
  readonly contentLength?: number;
  /** Stop writing once the server has answered (as most clients do not). */
  readonly stopOnAnswer?: boolean;
  readonly timeoutMs: number;
}

/**
 * One HTTP/1.1 request written by hand on a TCP socket, for what fetch will not do: trickle a body,
 * send one without credentials and see how much the server reads, watch for resets.
 */
export function rawRequest(base: string, req: RawRequest): Promise<RawResponse> {
  const url = new URL(base);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const received: Buffer[] = [];
    let sent = 0;
    let answered = false;
    let done = false;
    const finish = (ended: RawResponse['ended']): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parse(Buffer.concat(received).toString('latin1')), ended, sent, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish('open'), req.timeoutMs);
    socket.on('data', (d: Buffer) => {
      received.push(d);
      answered = true;
    });
    socket.on('end', () => finish('end'));
    socket.on('close', () => finish('end'));
    socket.on('error', () => finish('reset'));
    socket.on('connect', () => {
      const head = [`${req.method} ${req.path} HTTP/1.1`, `host: ${url.host}`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`)];
      const chunked = req.chunks !== undefined && req.contentLength === undefined;
      if (chunked) head.push('transfer-encoding: chunked');
      if (req.contentLength !== undefined) head.push(`content-length: ${req.contentLength}`);
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      void (async () => {
        if (req.chunks === undefined) return;
        try {
          for await (const chunk of req.chunks) {
            if (done || (req.stopOnAnswer === true && answered)) return;
            const ok = chunked ? socket.write(`${chunk.length.toString(16)}\r\n`) && socket.write(chunk) && socket.write('\r\n') : socket.write(chunk);
            sent += chunk.length;
            if (!ok) await new Promise((r) => socket.once('drain', r));
          }
          if (!done && chunked) socket.write('0\r\n\r\n');
        } catch {
          // The server closed the connection while we wrote: what it answered is what counts.
        }
      })();
    });
  });
}

function parse(text: string): Pick<RawResponse, 'status' | 'headers' | 'body'> {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const colon = l.indexOf(':');
    if (colon > 0) headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
  }
  const body = end < 0 ? '' : dechunk(text.slice(end + 4), headers['transfer-encoding'] === 'chunked');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body };
}

function dechunk(raw: string, chunked: boolean): string {
  if (!chunked) return raw;
  let out = '';
  let rest = raw;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    const size = nl < 0 ? 0 : parseInt(rest.slice(0, nl), 16);
    if (!(size > 0)) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}

/** `count` chunks of `size` bytes of `fill`, each after `delayMs`. */
export async function* chunks(count: number, size: number, delayMs = 0, fill = 'x'): AsyncGenerator<Buffer> {
  const chunk = Buffer.alloc(size, fill);
  for (let i = 0; i < count; i++) {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    yield chunk;
  }
}
