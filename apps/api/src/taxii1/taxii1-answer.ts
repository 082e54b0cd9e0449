import { Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { StoredBlock, Taxii1Store } from '@taxiway/domain';
import { databaseUnavailable } from '@taxiway/store';
import {
  MESSAGE_BINDING,
  PROTOCOL_HTTP,
  PROTOCOL_HTTPS,
  SERVICES,
  serializeAround,
  serializeBlocks,
  serializeMessage,
  type StatusMessage,
  type Taxii1Version,
} from '@taxiway/taxii1';
import { toContentBlock, type PollAnswer, type Taxii1Answer } from './taxii1-context';
import { Taxii1Status } from './taxii1-status';

/** Content blocks read from the store per query while a Poll_Response is streamed. */
const STREAM_BATCH = 500;

/** An answer to send: the message, the version and transport it is written for, the id it answers. */
export interface Reply {
  readonly version: Taxii1Version;
  readonly https: boolean;
  readonly answer: Taxii1Answer;
  readonly inResponseTo: string;
}

/** An exchange's unexpected failure as a Status Message: RETRY when the database is unavailable, FAILURE otherwise (logged). */
export function failureAnswer(e: unknown, log: FastifyBaseLogger, requestId: string): StatusMessage {
  if (e instanceof Taxii1Status) return e.toMessage();
  if (databaseUnavailable(e)) {
    log.warn({ err: e, req_id: requestId }, 'TAXII 1.x request refused: database unavailable');
    return new Taxii1Status('RETRY', 'The database is unavailable or did not answer in time; retry shortly', [['ESTIMATED_WAIT', '5']]).toMessage();
  }
  log.error({ err: e, req_id: requestId }, 'TAXII 1.x request failed');
  return new Taxii1Status('FAILURE', `The server could not process the message (error id ${requestId})`).toMessage();
}

function taxiiHeaders(reply: FastifyReply, version: Taxii1Version, https: boolean): FastifyReply {
  return reply
    .header('content-type', 'application/xml')
    .header('x-taxii-content-type', MESSAGE_BINDING[version])
    .header('x-taxii-services', SERVICES[version])
    .header('x-taxii-protocol', https ? PROTOCOL_HTTPS : PROTOCOL_HTTP);
}

/** Sends an answer with the X-TAXII headers; a poll answer's content blocks are read from `store` while it is written. */
export async function sendAnswer(reply: FastifyReply, { version, https, answer, inResponseTo }: Reply, store?: Taxii1Store): Promise<void> {
  taxiiHeaders(reply, version, https);
  if (answer.kind !== 'poll_stream') {
    await reply.send(serializeMessage(answer, version, inResponseTo));
    return;
  }
  if (store === undefined) throw new Error('a poll answer needs the store');
  // The first batch is read before anything is sent, so a failing database gives a FAILURE status,
  // not a cut-off document under HTTP 200. A failure later aborts the response (never a valid tail).
  let first: StoredBlock[];
  try {
    first = answer.read === undefined ? [] : await store.blocks(answer.read, STREAM_BATCH);
  } catch (e) {
    await reply.send(serializeMessage(failureAnswer(e, reply.log, reply.request.id), version, inResponseTo));
    return;
  }
  await reply.send(Readable.from(streamPoll(answer, { version, inResponseTo, first }, store)));
}

/** A Poll_Response written while its content blocks are read, a batch at a time. */
async function* streamPoll(
  answer: PollAnswer,
  o: { version: Taxii1Version; inResponseTo: string; first: StoredBlock[] },
  store: Taxii1Store,
): AsyncGenerator<string> {
  const { head, tail } = serializeAround(answer.response, o.version, o.inResponseTo);
  yield head;
  let served = 0;
  const q = answer.read;
  let rows = o.first;
  while (q !== undefined && rows.length > 0) {
    yield serializeBlocks(rows.map(toContentBlock), o.version);
    served += rows.length;
    if (rows.length < STREAM_BATCH) break;
    // The next batch: what is left of the window after the last label served.
    rows = await store.blocks({ ...q, window: q.window.after(rows[rows.length - 1]!.labelUs) }, STREAM_BATCH);
  }
  yield tail;
  answer.served(served);
}
