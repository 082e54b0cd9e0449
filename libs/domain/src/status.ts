import { joinPacedBytes, Pacer } from './pacer';

/** Why an object of an envelope ended as it did: stored, or a duplicate of a stored version (successes); or refused. */
export type DetailReason = 'stored' | 'duplicate' | 'conflict' | 'quota' | 'invalid';

/** The TAXII `status` resource (spec D§8.3) as the domain sees it. */
export interface StatusDetail {
  readonly id: string;
  readonly version: string;
  readonly message?: string;
  /** For metrics and logs; never part of the TAXII resource. Absent on statuses stored before it existed. */
  readonly reason?: DetailReason;
}

/** What a repeated version was measured against: a version already stored, or an earlier copy in the same envelope. */
export type RepeatedAgainst = 'collection' | 'envelope';

const REPEAT_MESSAGES: Readonly<Record<RepeatedAgainst, { readonly duplicate: string; readonly conflict: string }>> = {
  collection: {
    duplicate: 'duplicate: this version is already in the collection',
    conflict: 'conflict: the collection holds different content for this version',
  },
  envelope: {
    duplicate: 'duplicate: repeated in this envelope',
    conflict: 'conflict: repeated in this envelope with different content',
  },
};

/** The judgement of a repeated version: the same content is a duplicate (a success), other content a conflict (a failure). */
export function repeatVerdict(same: boolean, id: string, version: string, against: RepeatedAgainst): { ok: boolean; detail: StatusDetail } {
  const m = REPEAT_MESSAGES[against];
  return same
    ? { ok: true, detail: { id, version, message: m.duplicate, reason: 'duplicate' } }
    : { ok: false, detail: { id, version, message: m.conflict, reason: 'conflict' } };
}

/** A status detail as TAXII serializes it: id, version and message only. */
export const detailJson = (d: StatusDetail): string => JSON.stringify({ id: d.id, version: d.version, message: d.message });

export interface StatusResource {
  readonly id: string;
  readonly status: 'complete' | 'pending';
  readonly requestTimestampUs: number;
  readonly totalCount: number;
  readonly successes: readonly StatusDetail[];
  readonly failures: readonly StatusDetail[];
  readonly pendings: readonly StatusDetail[];
}

const taxiiDetail = (d: StatusDetail): StatusDetail => ({ id: d.id, version: d.version, ...(d.message !== undefined && { message: d.message }) });

/**
 * Serializes a status with the invariants taxii2-client checks: every count present, the counts add
 * up to `total_count`, each list's length equals its count, and no empty list is ever emitted.
 */
export function statusToJson(s: StatusResource, formatTs: (us: number) => string): Record<string, unknown> {
  const total = s.successes.length + s.failures.length + s.pendings.length;
  if (total !== s.totalCount) throw new Error(`status ${s.id}: counts do not add up (${total} != ${s.totalCount})`);
  return {
    id: s.id,
    status: s.status,
    request_timestamp: formatTs(s.requestTimestampUs),
    total_count: s.totalCount,
    success_count: s.successes.length,
    ...(s.successes.length > 0 && { successes: s.successes.map(taxiiDetail) }),
    failure_count: s.failures.length,
    ...(s.failures.length > 0 && { failures: s.failures.map(taxiiDetail) }),
    pending_count: s.pendings.length,
    ...(s.pendings.length > 0 && { pendings: s.pendings.map(taxiiDetail) }),
  };
}

/**
 * The UTF-8 of `JSON.stringify(statusToJson(s, formatTs))`, built in slices (a status of 100,000
 * objects is megabytes of JSON): the event loop is never held for the whole of it.
 */
export async function statusJsonBytes(s: StatusResource, formatTs: (us: number) => string): Promise<Buffer> {
  const total = s.successes.length + s.failures.length + s.pendings.length;
  if (total !== s.totalCount) throw new Error(`status ${s.id}: counts do not add up (${total} != ${s.totalCount})`);
  const pacer = new Pacer();
  const list = async (name: string, items: readonly StatusDetail[]): Promise<Buffer[]> =>
    items.length === 0 ? [] : [Buffer.from(`,"${name}":`), await detailsJsonBytes(items, pacer)];
  const head = `{"id":${JSON.stringify(s.id)},"status":${JSON.stringify(s.status)},"request_timestamp":${JSON.stringify(formatTs(s.requestTimestampUs))},"total_count":${s.totalCount}`;
  return Buffer.concat([
    Buffer.from(`${head},"success_count":${s.successes.length}`),
    ...(await list('successes', s.successes)),
    Buffer.from(`,"failure_count":${s.failures.length}`),
    ...(await list('failures', s.failures)),
    Buffer.from(`,"pending_count":${s.pendings.length}`),
    ...(await list('pendings', s.pendings)),
    Buffer.from('}'),
  ]);
}

/** A list of status details as the UTF-8 of a JSON array of their TAXII form, built in slices. */
export async function detailsJsonBytes(items: readonly StatusDetail[], pacer = new Pacer()): Promise<Buffer> {
  return joinPacedBytes(items, detailJson, ['[', ']'], pacer);
}

/** Status details as stored: the TAXII form plus the reason. */
export async function storedDetailsJsonBytes(items: readonly StatusDetail[], pacer = new Pacer()): Promise<Buffer> {
  return joinPacedBytes(items, (d) => JSON.stringify({ id: d.id, version: d.version, message: d.message, reason: d.reason }), ['[', ']'], pacer);
}
