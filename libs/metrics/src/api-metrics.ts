import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How finely sharing volume is labelled: per collection and per principal, or aggregated per API root. */
export interface LabelPolicy {
  /** Label series with the collection's name; false = one series per API root (`collection="*"`). */
  readonly perCollection: boolean;
  /** Label consumer series with the principal's name; false = `principal="*"`. */
  readonly perPrincipal: boolean;
}

export const AGGREGATED = '*';

/** The 4xx answers SREs watch, by the reason a client sees. */
export const CLIENT_ERROR_REASONS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'too_many_requests',
};

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Every metric of the API server, declared once with its help text and unit, on one registry
 * (Pepr's MetricsCollector shape). Sharing-volume labels follow the LabelPolicy, so that
 * cardinality stays bounded when there are many collections or consumers.
 */
export class ApiMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'taxiway_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'taxiway_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, in seconds, by route template and method',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly clientErrors = new Counter({
    name: 'taxiway_http_client_errors_total',
    help: 'HTTP 4xx answers by status code and reason (unauthenticated, forbidden, not_found, not_acceptable, payload_too_large, unsupported_media_type, too_many_requests, …)',
    labelNames: ['status', 'reason'] as const,
    registers: [this.registry],
  });
  readonly authAttempts = new Counter({
    name: 'taxiway_auth_attempts_total',
    help: 'Authentication attempts by credential method (password, api-key, jwt, certificate, none) and result (accepted, rejected, throttled, busy, missing, rate-limited)',
    labelNames: ['method', 'result'] as const,
    registers: [this.registry],
  });
  readonly authHashes = new Counter({
    name: 'taxiway_auth_hashes_total',
    help: 'Slow (argon2id) credential verifications run; the others were answered from the verification cache or refused before hashing',
    registers: [this.registry],
  });
  readonly objectsIngested = new Counter({
    name: 'taxiway_objects_ingested_total',
    help: 'STIX object versions stored by Add Objects (successes, duplicates included), by API root and collection',
    labelNames: ['api_root', 'collection'] as const,
    registers: [this.registry],
  });
  readonly bytesIngested = new Counter({
    name: 'taxiway_ingested_bytes_total',
    help: 'Request body bytes of the envelopes Add Objects accepted (202), by API root and collection',
    labelNames: ['api_root', 'collection'] as const,
    registers: [this.registry],
  });
  readonly ingestFailures = new Counter({
    name: 'taxiway_ingest_failures_total',
    help: 'Objects refused by Add Objects, by API root, collection and reason (invalid, conflict, quota)',
    labelNames: ['api_root', 'collection', 'reason'] as const,
    registers: [this.registry],
  });
  readonly envelopesReceived = new Counter({
    name: 'taxiway_envelopes_received_total',
    help: 'Envelopes accepted by Add Objects (202), by API root and collection',
    labelNames: ['api_root', 'collection'] as const,
    registers: [this.registry],
  });
  readonly objectsServed = new Counter({
    name: 'taxiway_objects_served_total',
    help: 'Objects (or manifest/version entries) served, by API root, collection and endpoint (objects, object, manifest, versions)',
    labelNames: ['api_root', 'collection', 'endpoint'] as const,
    registers: [this.registry],
  });
  readonly bytesServed = new Counter({
    name: 'taxiway_served_bytes_total',
    help: 'Response body bytes of object, manifest and version pages, by API root and collection',
    labelNames: ['api_root', 'collection'] as const,
    registers: [this.registry],
  });
  readonly pagesServed = new Counter({
    name: 'taxiway_pages_served_total',
    help: 'Pages (envelopes and manifests) served, by API root, collection and endpoint',
    labelNames: ['api_root', 'collection', 'endpoint'] as const,
    registers: [this.registry],
  });
  readonly consumerObjects = new Counter({
    name: 'taxiway_consumer_objects_served_total',
    help: 'Objects served to each consumer (principal), by API root',
    labelNames: ['api_root', 'principal'] as const,
    registers: [this.registry],
  });
  readonly consumerPolls = new Counter({
    name: 'taxiway_consumer_polls_total',
    help: 'Successful reads of objects or manifest by each consumer (principal), by API root: the usual polling interval is 1 / rate',
    labelNames: ['api_root', 'principal'] as const,
    registers: [this.registry],
  });
  readonly consumerLastPoll = new Gauge({
    name: 'taxiway_consumer_last_poll_timestamp_seconds',
    help: "Unix time of each consumer's (principal's) last successful read of objects or manifest, by API root",
    labelNames: ['api_root', 'principal'] as const,
    registers: [this.registry],
  });
  readonly statusesPending = new Gauge({
    name: 'taxiway_statuses_pending',
    help: 'Status resources still pending (Add Objects is processed before it answers, so this stays 0 today)',
    registers: [this.registry],
  });
  readonly dbOperationDuration = new Histogram({
    name: 'taxiway_db_operation_duration_seconds',
    help: 'Time of each storage operation (one or a few SQL statements), in seconds, by operation',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly dbPool = new Gauge({
    name: 'taxiway_db_pool_connections',
    help: 'Database connections of this replica, by state (in_use, idle, waiting = requests waiting for a connection)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly dbPoolMax = new Gauge({ name: 'taxiway_db_pool_max_connections', help: 'Size of the database pool (DB_POOL_SIZE)', registers: [this.registry] });
  readonly taxii1Messages = new Counter({
    name: 'taxiway_taxii1_messages_total',
    help: 'TAXII 1.x exchanges, by API root, protocol version, request message and answer (the response message, or the status type)',
    labelNames: ['api_root', 'version', 'message', 'answer'] as const,
    registers: [this.registry],
  });
  readonly pushDeliveries = new Counter({
    name: 'taxiway_taxii1_push_deliveries_total',
    help: "Push deliveries to subscribers' inboxes, by API root, collection and result (delivered, retry, failed = given up)",
    labelNames: ['api_root', 'collection', 'result'] as const,
    registers: [this.registry],
  });
  readonly pushBlocks = new Counter({
    name: 'taxiway_taxii1_push_blocks_total',
    help: 'Content blocks delivered by push, by API root and collection',
    labelNames: ['api_root', 'collection'] as const,
    registers: [this.registry],
  });
  readonly pushDuration = new Histogram({
    name: 'taxiway_taxii1_push_duration_seconds',
    help: "Time of one push delivery attempt (the subscriber's inbox answering), in seconds",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly outboxEntries = new Gauge({
    name: 'taxiway_taxii1_outbox_entries',
    help: 'Push outbox entries, by state (pending = still to deliver, failed = given up and kept for inspection)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly outboxOldestPending = new Gauge({
    name: 'taxiway_taxii1_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest undelivered push outbox entry, in seconds (0 when none)',
    registers: [this.registry],
  });

  constructor(readonly labels: LabelPolicy = { perCollection: true, perPrincipal: true }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'taxiway_' });
    this.statusesPending.set(0);
  }

  collectionLabel(name: string): string {
    return this.labels.perCollection ? name : AGGREGATED;
  }

  principalLabel(name: string): string {
    return this.labels.perPrincipal ? name : AGGREGATED;
  }
}
