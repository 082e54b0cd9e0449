import { describe, expect, it } from 'vitest';
import type { Resource } from './resources';
import { conditionsFor, invalid, ok, Reason, sameConditions, setCondition } from './status';

const r = (generation: number, conditions: Resource['status'] = undefined): Resource => ({
  apiVersion: 'taxiway.io/v1alpha1',
  kind: 'ApiRoot',
  metadata: { name: 'r', namespace: 'ns', uid: 'u', generation },
  spec: {},
  ...(conditions !== undefined && { status: conditions }),
});

describe('conditions', () => {
  it('keeps lastTransitionTime while the status stays and moves it when it flips', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-02T00:00:00Z');
    const a = setCondition([], { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'm' }, t1);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'other' }, t2);
    expect(b[0]?.lastTransitionTime).toBe(t1.toISOString());
    const c = setCondition(b, { type: 'Ready', status: 'False', reason: 'DatabaseError', message: 'x' }, t2);
    expect(c[0]?.lastTransitionTime).toBe(t2.toISOString());
  });

  it('sets Ready, Reconciled and Accepted with the current generation; an invalid spec is not Accepted', () => {
    const now = new Date();
    expect(conditionsFor(r(3), ok(), now).map((c) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual([
      ['Ready', 'True', 'Reconciled', 3],
      ['Reconciled', 'True', 'Reconciled', 3],
      ['Accepted', 'True', 'Accepted', 3],
    ]);
    const bad = conditionsFor(r(4), invalid(Reason.CollectionConflict, 'taken'), now);
    expect(bad.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'CollectionConflict'],
      ['Reconciled', 'False', 'CollectionConflict'],
      ['Accepted', 'False', 'CollectionConflict'],
    ]);
    expect(sameConditions(bad, conditionsFor(r(4), invalid(Reason.CollectionConflict, 'taken'), new Date(now.getTime() + 1000)))).toBe(true);
    expect(sameConditions(bad, conditionsFor(r(5), invalid(Reason.CollectionConflict, 'taken'), now))).toBe(false);
  });
});
