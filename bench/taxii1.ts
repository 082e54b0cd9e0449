/**
 * TAXII 1.x throughput in content blocks per second, on a throwaway PostgreSQL (durable settings),
 * with realistic STIX 1.2 packages (about 2.6 KB each: an indicator with a CybOX observable, a TTP,
 * a kill-chain phase, a TLP marking):
 *
 * - inbox, batched: Inbox_Messages of --batch blocks from --concurrency clients;
 * - inbox, one block per message (what `taxii-push` does) from --concurrency clients;
 * - poll 1.1: the whole collection, multi-part (TAXII1_PART_SIZE blocks a part), following
 *   Poll_Fulfillment as cabby does;
 * - poll 1.0: the whole collection in one complete answer;
 * - push: new content delivered to a subscriber's inbox (a local HTTP inbox answering SUCCESS).
 *
 * Every phase is checked: the poll phases must return every block, byte for byte; the push phase
 * must deliver every block. Writes bench/results/taxii1.{json,md}.
 * Usage: npx tsx bench/taxii1.ts [--blocks N] [--batch N] [--concurrency N] [--part-size N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { parseXml } from '@taxiway/taxii1';
import { Rng, stix1Package } from '@taxiway/testing';
import { openBackend } from './lib/backends';
import { Cleanup } from './lib/cleanup';
import { describeMachine } from './lib/report';
import { startServer } from './lib/server';
import { summarizeLatencies, type LatencySummary } from './lib/stats';
import { prepareTenancy } from './lib/tenancy';

const BENCH_DIR = __dirname;
const MAIN_JS = resolve(BENCH_DIR, '..', 'apps', 'api', 'dist', 'main.js');
const NS11 = 'http://taxii.mitre.org/messages/taxii_xml_binding-1.1';
const NS10 = 'http://taxii.mitre.org/messages/taxii_xml_binding-1';

const { values: args } = parseArgs({
  options: {
    blocks: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '4' },
    'part-size': { type: 'string', default: '1000' },
    'single-blocks': { type: 'string', default: '2000' },
    'push-blocks': { type: 'string', default: '5000' },
  },
});
const N = Number(args.blocks);
const BATCH = Number(args.batch);
const CONCURRENCY = Number(args.concurrency);
const PART_SIZE = Number(args['part-size']);
const SINGLE = Number(args['single-blocks']);
const PUSH = Number(args['push-blocks']);

interface Phase {
  readonly phase: string;
  readonly blocks: number;
  readonly seconds: number;
  readonly blocksPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly messages: number;
  readonly latency?: LatencySummary;
}

const headers = (v: '1.0' | '1.1', auth: string): Record<string, string> => ({
  'content-type': 'application/xml',
  accept: 'application/xml',
  'x-taxii-content-type': `urn:taxii.mitre.org:message:xml:${v}`,
  'x-taxii-services': `urn:taxii.mitre.org:services:${v}`,
  'x-taxii-protocol': 'urn:taxii.mitre.org:protocol:http:1.0',
  authorization: auth,
});

let ids = 0;
const inboxMessage = (contents: readonly string[]): string =>
  `<taxii_11:Inbox_Message xmlns:taxii_11="${NS11}" message_id="b${++ids}">` +
  contents
    .map(
      (c) =>
        `<taxii_11:Content_Block><taxii_11:Content_Binding binding_id="urn:stix.mitre.org:xml:1.2"/><taxii_11:Content>${c}</taxii_11:Content></taxii_11:Content_Block>`,
    )
    .join('') +
  `</taxii_11:Inbox_Message>`;

async function post(url: string, body: string, h: Record<string, string>): Promise<string> {
  const res = await request(url, { method: 'POST', headers: h, body, headersTimeout: 600_000, bodyTimeout: 600_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  return text;
}

/** Sends the messages from `concurrency` clients; returns per-message latencies. */
async function sendAll(url: string, messages: readonly string[], h: Record<string, string>, concurrency: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < messages.length) {
      const m = messages[next++]!;
      const t0 = performance.now();
      const answer = await post(url, m, h);
      latencies.push(performance.now() - t0);
      if (!answer.includes('status_type="SUCCESS"')) throw new Error(`inbox refused: ${answer.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return latencies;
}

function phase(name: string, m: { blocks: number; bytes: number; ms: number; messages: number; latencies?: number[] }): Phase {
  const { blocks, bytes, ms } = m;
  const extra = m;
  const seconds = ms / 1000;
  return {
    phase: name,
    blocks,
    seconds: Math.round(seconds * 100) / 100,
    blocksPerSecond: Math.round(blocks / seconds),
    megabytesPerSecond: Math.round((bytes / 1e6 / seconds) * 10) / 10,
    messages: extra.messages,
    ...(extra.latencies !== undefined && { latency: summarizeLatencies(extra.latencies) }),
  };
}

/** The raw `<Content>` texts of a Poll_Response. */
function contentsOf(xml: string): { contents: string[]; more: boolean; resultId: string | undefined } {
  const root = parseXml(xml, { maxDepth: 200, maxElements: 10_000_000 }, (_ns, local) => local === 'Content');
  if (root.local !== 'Poll_Response') throw new Error(`expected a Poll_Response: ${xml.slice(0, 300)}`);
  const contents = root.children
    .filter((c) => c.local === 'Content_Block')
    .map((b) => {
      const c = b.children.find((x) => x.local === 'Content')!;
      return xml.slice(c.innerStart, c.innerEnd);
    });
  return { contents, more: root.attrs.get('more') === 'true', resultId: root.attrs.get('result_id') };
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers();
  const work = mkdtempSync(join(tmpdir(), 'taxiway-bench-taxii1-'));
  cleanup.add('workdir', () => rmSync(work, { recursive: true, force: true }));
  try {
    const backend = await openBackend('postgres', work, cleanup);
    const tenancy = prepareTenancy('single', work);
    const server = await startServer({
      mainJs: MAIN_JS,
      configPath: tenancy.configPath,
      env: {
        ...tenancy.serverEnv,
        TAXII1_PART_SIZE: String(PART_SIZE),
        TAXII1_PUSH_INTERVAL_MS: '50',
        TAXII1_PUSH_ALLOW_PRIVATE: 'true',
        AUDIT_READS: 'false',
      },
      databaseEnv: await backend.freshDatabase('taxii1'),
      cleanup,
    });
    const auth = tenancy.authorization;
    const inbox = `${server.origin}/taxii1/bench/inbox/measured/`;
    const poll = `${server.origin}/taxii1/bench/poll/`;
    const rng = new Rng(7);
    const corpus = Array.from({ length: N }, (_, i) => stix1Package(rng, `2026-11-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z`));
    const bytes = corpus.reduce((a, c) => a + Buffer.byteLength(c), 0);
    console.log(`corpus: ${N} STIX 1.2 packages, ${(bytes / 1e6).toFixed(1)} MB (${Math.round(bytes / N)} B each)`);

    // Warm-up: JIT, connection pool, statement plans (into the other collection).
    await sendAll(
      `${server.origin}/taxii1/bench/inbox/warmup/`,
      Array.from({ length: 20 }, () => inboxMessage(corpus.slice(0, 50))),
      headers('1.1', auth),
      CONCURRENCY,
    );

    const phases: Phase[] = [];
    const batches: string[] = [];
    for (let i = 0; i < N; i += BATCH) batches.push(inboxMessage(corpus.slice(i, i + BATCH)));
    let t0 = performance.now();
    const lat = await sendAll(inbox, batches, headers('1.1', auth), CONCURRENCY);
    phases.push(
      phase(`inbox, ${BATCH} blocks a message, ${CONCURRENCY} clients`, {
        blocks: N,
        bytes,
        ms: performance.now() - t0,
        messages: batches.length,
        latencies: lat,
      }),
    );

    const singles = corpus.slice(0, SINGLE).map((c) => inboxMessage([c]));
    const singleBytes = corpus.slice(0, SINGLE).reduce((a, c) => a + Buffer.byteLength(c), 0);
    t0 = performance.now();
    const lat1 = await sendAll(`${server.origin}/taxii1/bench/inbox/warmup/`, singles, headers('1.1', auth), CONCURRENCY * 2);
    phases.push(
      phase(`inbox, 1 block a message, ${CONCURRENCY * 2} clients`, {
        blocks: SINGLE,
        bytes: singleBytes,
        ms: performance.now() - t0,
        messages: SINGLE,
        latencies: lat1,
      }),
    );

    // Poll 1.1, multi-part, as cabby follows it. Timed: the HTTP exchanges and reading `more` and
    // `result_id` from each part's root; the content check afterwards is not timed.
    t0 = performance.now();
    const pollBody = `<taxii_11:Poll_Request xmlns:taxii_11="${NS11}" message_id="p1" collection_name="measured"><taxii_11:Poll_Parameters allow_asynch="false"><taxii_11:Response_Type>FULL</taxii_11:Response_Type></taxii_11:Poll_Parameters></taxii_11:Poll_Request>`;
    const texts = [await post(poll, pollBody, headers('1.1', auth))];
    const resultId = /result_id="([^"]+)"/.exec(texts[0]!)?.[1];
    while (/<taxii_11:Poll_Response [^>]*more="true"/.test(texts.at(-1)!.slice(0, 1000))) {
      const n = texts.length + 1;
      const f = `<taxii_11:Poll_Fulfillment xmlns:taxii_11="${NS11}" message_id="f${n}" collection_name="measured" result_id="${resultId!}" result_part_number="${n}"/>`;
      texts.push(await post(poll, f, headers('1.1', auth)));
    }
    const pollMs = performance.now() - t0;
    const got = texts.flatMap((t) => contentsOf(t).contents);
    phases.push(phase(`poll 1.1, parts of ${PART_SIZE}`, { blocks: got.length, bytes, ms: pollMs, messages: texts.length }));
    verify('poll 1.1', got, corpus);

    t0 = performance.now();
    const all10 = await post(poll, `<taxii:Poll_Request xmlns:taxii="${NS10}" message_id="10" feed_name="measured"/>`, headers('1.0', auth));
    const poll10Ms = performance.now() - t0;
    const got10 = contentsOf(all10).contents;
    phases.push(phase('poll 1.0, one complete answer', { blocks: got10.length, bytes, ms: poll10Ms, messages: 1 }));
    verify('poll 1.0', got10, corpus);

    phases.push(await pushPhase(server.origin, auth, corpus.slice(0, PUSH)));
    server.assertAlive();
    const logs = server.logs();
    await server.stop();

    const results = {
      date: new Date().toISOString(),
      machine: describeMachine(resolve(BENCH_DIR, '..')),
      settings: { blocks: N, batch: BATCH, concurrency: CONCURRENCY, partSize: PART_SIZE },
      phases,
      serverLog: { warnings: logs.warnings, errors: logs.errors },
    };
    const dir = join(BENCH_DIR, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'taxii1.json'), JSON.stringify(results, null, 2) + '\n');
    writeFileSync(join(dir, 'taxii1.md'), markdown(results.phases, results.date));
    console.log(markdown(phases, results.date));
    if (logs.errors > 0) throw new Error(`the server logged ${logs.errors} errors: ${logs.tail.join('\n')}`);
  } finally {
    await cleanup.runAll();
  }
}

/** Every block came back byte for byte (concurrent inboxes commit in any order, so compare as sets). */
function verify(what: string, got: readonly string[], corpus: readonly string[]): void {
  if (got.length !== corpus.length) throw new Error(`${what}: got ${got.length} blocks, expected ${corpus.length}`);
  const a = [...got].sort();
  const b = [...corpus].sort();
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) throw new Error(`${what}: a block differs from every block sent`);
}

/** Subscribes a local inbox for push, adds `contents` in messages of BATCH, and times until every block arrived. */
async function pushPhase(origin: string, auth: string, contents: readonly string[]): Promise<Phase> {
  let received = 0;
  let messages = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => (done = r));
  const inbox = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received += body.split('<taxii_11:Content_Block>').length - 1;
      messages++;
      res.writeHead(200, {
        'content-type': 'application/xml',
        'x-taxii-content-type': 'urn:taxii.mitre.org:message:xml:1.1',
        'x-taxii-services': 'urn:taxii.mitre.org:services:1.1',
      });
      res.end(`<taxii_11:Status_Message xmlns:taxii_11="${NS11}" message_id="r${messages}" in_response_to="x" status_type="SUCCESS"/>`);
      if (received >= contents.length) done();
    });
  });
  await new Promise<void>((r) => inbox.listen(0, '127.0.0.1', r));
  const address = `http://127.0.0.1:${(inbox.address() as AddressInfo).port}/inbox/`;
  const sub = `<taxii_11:Subscription_Management_Request xmlns:taxii_11="${NS11}" message_id="s1" action="SUBSCRIBE" collection_name="measured"><taxii_11:Subscription_Parameters><taxii_11:Response_Type>FULL</taxii_11:Response_Type></taxii_11:Subscription_Parameters><taxii_11:Push_Parameters><taxii_11:Protocol_Binding>urn:taxii.mitre.org:protocol:http:1.0</taxii_11:Protocol_Binding><taxii_11:Address>${address}</taxii_11:Address><taxii_11:Message_Binding>urn:taxii.mitre.org:message:xml:1.1</taxii_11:Message_Binding></taxii_11:Push_Parameters></taxii_11:Subscription_Management_Request>`;
  const answer = await post(`${origin}/taxii1/bench/collection-management/`, sub, headers('1.1', auth));
  if (!answer.includes('Subscription_Management_Response')) throw new Error(`subscribe failed: ${answer.slice(0, 300)}`);
  const batches: string[] = [];
  for (let i = 0; i < contents.length; i += BATCH) batches.push(inboxMessage(contents.slice(i, i + BATCH)));
  const t0 = performance.now();
  await sendAll(`${origin}/taxii1/bench/inbox/measured/`, batches, headers('1.1', auth), 1);
  await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`push: ${received} of ${contents.length} delivered`)), 300_000))]);
  const ms = performance.now() - t0;
  inbox.close();
  const bytes = contents.reduce((a, c) => a + Buffer.byteLength(c), 0);
  return phase('push to a subscriber (inbox → delivered)', { blocks: received, bytes, ms, messages });
}

function markdown(phases: readonly Phase[], date: string): string {
  const rows = phases.map(
    (p) =>
      `| ${p.phase} | ${p.blocks.toLocaleString('en-US')} | ${p.seconds} | **${p.blocksPerSecond.toLocaleString('en-US')}** | ${p.megabytesPerSecond} | ${p.messages} | ${p.latency === undefined ? '' : `${p.latency.p50Ms.toFixed(1)} / ${p.latency.p99Ms.toFixed(1)}`} |`,
  );
  return [
    `TAXII 1.x throughput, PostgreSQL, ${date.slice(0, 10)} (\`npm run bench:taxii1\`)`,
    '',
    '| phase | blocks | s | blocks/s | MB/s | messages | message p50 / p99 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
