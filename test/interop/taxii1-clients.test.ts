import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/server';
import { STATE } from '../../apps/api/test/fixture';

const run = promisify(execFile);
const PYTHON = resolve(__dirname, '../../.venv-interop/bin/python');
const S11 = 'urn:taxii.mitre.org:services:1.1';
const S10 = 'urn:taxii.mitre.org:services:1.0';

describe.each(['postgresql', 'pglite'] as const)('interop: cabby and libtaxii against Taxiway TAXII 1.x on %s', (backend) => {
  let s: RunningServer;
  beforeAll(async () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} missing: run scripts/test-all.sh, which creates the interop virtualenv`);
    s = await startServer(STATE, {
      backend,
      realBaseUrl: true,
      env: { TAXII1_PART_SIZE: '5', TAXII1_PUSH_INTERVAL_MS: '100', TAXII1_PUSH_ALLOW_PRIVATE: 'true' },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('discovers, lists, pushes, polls multi-part, subscribes, receives pushes and reports every error as the clients expect', async () => {
    const port = new URL(s.url).port;
    const { stdout } = await run(PYTHON, [resolve(__dirname, 'taxii1_flow.py'), '127.0.0.1', port, 'tenant-a', 'alice', 'alice-pw', 'mallory', 'mallory-pw'], {
      timeout: 180_000,
    });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out).toEqual({
      // cabby, TAXII 1.1: discovery picks one service per type; collections as alice sees them.
      services_11: [
        ['COLLECTION_MANAGEMENT', S11],
        ['DISCOVERY', S11],
        ['INBOX', S11],
        ['POLL', S11],
      ],
      collections_11: ['ro', 'rw'],
      subscribe_status: 'ACTIVE',
      // 13 blocks in parts of 5: cabby follows Poll_Fulfillment until the end.
      polled_count: 13,
      polled_xml_equal: true,
      polled_text_equal: true,
      polled_bindings: ['urn:example.com:json', 'urn:stix.mitre.org:xml:1.2'],
      labels_increasing: true,
      // PGlite's clock (WebAssembly) ticks in milliseconds; PostgreSQL's in microseconds.
      labels_have_microseconds: backend === 'postgresql',
      // begin exclusive, end inclusive: labels 3..5 of the polled list.
      window: [true, true, true, 3],
      count: 13,
      status_all: 2,
      paused: 'PAUSED',
      resumed: 'ACTIVE',
      poll_by_subscription: 12,
      unsubscribed: 'UNSUBSCRIBED',
      status_unknown: 'NOT_FOUND',
      // Push delivery to a libtaxii-parsed inbox: every block, schema-valid, naming the subscription.
      pushed_blocks: 13,
      pushed_subscription: true,
      pushed_valid: true,
      pushed_xml_equal: true,
      err_unknown_collection: 'NOT_FOUND',
      err_wrong_password: 'UNAUTHORIZED',
      err_readonly_push: 'DESTINATION_COLLECTION_ERROR',
      err_other_tenant_user: 'NOT_FOUND',
      jwt_collections: ['ro', 'rw'],
      // cabby, TAXII 1.0: one complete poll answer.
      services_10: [
        ['DISCOVERY', S10],
        ['FEED_MANAGEMENT', S10],
        ['INBOX', S10],
        ['POLL', S10],
      ],
      feeds_10: ['ro', 'rw'],
      polled_10_count: 13,
      polled_10_equal: true,
      // libtaxii HttpClient.
      libtaxii_discovery: ['DISCOVERY', 'COLLECTION_MANAGEMENT', 'INBOX', 'POLL'],
      libtaxii_poll: ['Poll_Response', true, 1, 5, 13],
      libtaxii_part3: ['Poll_Response', false, 3],
      libtaxii_bad_part: ['INVALID_RESPONSE_PART', 3],
      libtaxii_bad_destination: ['DESTINATION_COLLECTION_ERROR', 'rw'],
      libtaxii_bad_message: 'BAD_MESSAGE',
      libtaxii_unsupported_message: ['UNSUPPORTED_MESSAGE', ['urn:taxii.mitre.org:message:xml:1.0', 'urn:taxii.mitre.org:message:xml:1.1']],
      libtaxii_unsupported_protocol: 'UNSUPPORTED_PROTOCOL',
      libtaxii_unsupported_query: 'UNSUPPORTED_QUERY',
      libtaxii_discovery_10: ['Discovery_Response', 4],
      libtaxii_inbox_10: 'SUCCESS',
      raw_round_trip: ['SUCCESS', true, expect.any(Number)],
    });
  });
});
