import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric of the operator, declared once, on its own registry (served at /metrics). */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'taxiway_operator_reconcile_total',
    help: 'Reconciles by kind and result (success, invalid, error, deleted)',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'taxiway_operator_reconcile_duration_seconds',
    help: 'Duration of one reconcile, by kind',
    labelNames: ['kind'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly applies = new Counter({
    name: 'taxiway_operator_apply_total',
    help: 'Applies of the whole desired state to the database, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly applyDuration = new Histogram({
    name: 'taxiway_operator_apply_duration_seconds',
    help: 'Duration of one apply of the desired state (one database transaction)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'taxiway_operator_queue_depth',
    help: 'Resources waiting to be reconciled or being reconciled',
    registers: [this.registry],
  });
  readonly leader = new Gauge({ name: 'taxiway_operator_leader', help: '1 while this replica holds the leader lease', registers: [this.registry] });
  readonly watchErrors = new Counter({
    name: 'taxiway_operator_watch_errors_total',
    help: 'Watches that ended with an error and were re-established, by resource',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'taxiway_operator_' });
  }
}
