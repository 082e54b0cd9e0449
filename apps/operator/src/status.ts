import type { Condition, Resource } from './resources';

/** Why a resource is (not) ready: a closed, CamelCase set (the `reason` of its conditions). */
export const Reason = {
  Reconciled: 'Reconciled',
  ApiRootNotFound: 'ApiRootNotFound',
  CollectionConflict: 'CollectionConflict',
  NameConflict: 'NameConflict',
  PathConflict: 'PathConflict',
  SecretNotFound: 'SecretNotFound',
  InvalidSpec: 'InvalidSpec',
  DatabaseError: 'DatabaseError',
  IngressError: 'IngressError',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** The outcome of one reconcile for one resource. */
export interface Verdict {
  readonly ready: boolean;
  readonly reason: Reason;
  readonly message: string;
  /** The spec is at fault: do not retry until it changes (generation). */
  readonly permanent: boolean;
}

export const ok = (message = 'Applied to the database'): Verdict => ({ ready: true, reason: Reason.Reconciled, message, permanent: false });
export const invalid = (reason: Reason, message: string): Verdict => ({ ready: false, reason, message, permanent: true });
export const transient = (reason: Reason, message: string): Verdict => ({ ready: false, reason, message, permanent: false });

/**
 * Sets a condition the way cert-manager's SetCertificateCondition does: `lastTransitionTime` moves
 * only when the status flips; `observedGeneration` is always the current generation.
 */
export function setCondition(conditions: readonly Condition[], next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = prev !== undefined && prev.status === next.status ? prev.lastTransitionTime : now.toISOString();
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}

/** The conditions (Accepted, Reconciled, Ready) a verdict gives a resource at its current generation. */
export function conditionsFor(r: Resource, v: Verdict, now: Date): Condition[] {
  const generation = r.metadata.generation ?? 0;
  let c = r.status?.conditions ?? [];
  const accepted = !v.permanent;
  c = setCondition(
    c,
    {
      type: 'Accepted',
      status: accepted ? 'True' : 'False',
      reason: accepted ? 'Accepted' : v.reason,
      message: accepted ? 'The spec is valid' : v.message,
      observedGeneration: generation,
    },
    now,
  );
  const reconciled = v.ready;
  c = setCondition(c, { type: 'Reconciled', status: reconciled ? 'True' : 'False', reason: v.reason, message: v.message, observedGeneration: generation }, now);
  c = setCondition(c, { type: 'Ready', status: v.ready ? 'True' : 'False', reason: v.reason, message: v.message, observedGeneration: generation }, now);
  const order = ['Ready', 'Reconciled', 'Accepted'];
  return c.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}

/** True if patching `next` would change nothing the user sees. */
export function sameConditions(a: readonly Condition[] | undefined, b: readonly Condition[]): boolean {
  const strip = (cs: readonly Condition[] | undefined) =>
    JSON.stringify((cs ?? []).map(({ type, status, reason, message, observedGeneration }) => [type, status, reason, message, observedGeneration]));
  return strip(a) === strip(b);
}
