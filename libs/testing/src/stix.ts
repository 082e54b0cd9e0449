/**
 * Deterministic, realistic STIX 2.1 content for tests and benchmarks: indicators with patterns,
 * malware, threat actors, identities, relationships, sightings and observables, with several
 * versions of some objects. The same seed always yields the same objects.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    // xorshift32
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 0x1_0000_0000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    const v = xs[this.int(xs.length)];
    if (v === undefined) throw new Error('empty');
    return v;
  }
  uuid4(): string {
    const h = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[this.int(16)]).join('');
    return `${h(8)}-${h(4)}-4${h(3)}-${'89ab'[this.int(4)]}${h(3)}-${h(12)}`;
  }
}

export type StixObject = Record<string, unknown> & { type: string; id: string };

const MALWARE = ['Emotet', 'TrickBot', 'QakBot', 'IcedID', 'Cobalt Strike', 'AgentTesla', 'Remcos', 'AsyncRAT', 'LockBit', 'BlackCat'];
const ACTORS = ['APT28', 'APT29', 'FIN7', 'Lazarus Group', 'TA505', 'Wizard Spider', 'Sandworm', 'Kimsuky'];
const SECTORS = ['financial-services', 'healthcare', 'energy', 'government-national', 'technology', 'telecommunications'];
const TLDS = ['com', 'net', 'org', 'info', 'ru', 'top', 'xyz'];

function ts(base: number, offsetSec: number): string {
  return new Date(base + offsetSec * 1000).toISOString();
}

export interface CorpusOptions {
  readonly seed?: number;
  /** Share (0..1) of indicators/malware that get 1–3 extra versions. */
  readonly versionedShare?: number;
}

/** The generator's running state: what it has produced so far and its clock, in seconds after `base`. */
interface Corpus {
  readonly rng: Rng;
  readonly base: number;
  readonly identity: StixObject;
  readonly out: StixObject[];
  readonly malwareIds: string[];
  /** The latest version of each object that gets later versions. */
  readonly versioned: StixObject[];
  t: number;
}

function randomIpv4(rng: Rng): string {
  return `${1 + rng.int(223)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
}

function randomHex(rng: Rng, length: number): string {
  return Array.from({ length }, () => '0123456789abcdef'[rng.int(16)]).join('');
}

function demoIdentity(rng: Rng, base: number): StixObject {
  return {
    type: 'identity',
    spec_version: '2.1',
    id: `identity--${rng.uuid4()}`,
    created: ts(base, 0),
    modified: ts(base, 0),
    name: 'Taxiway Demo CERT',
    identity_class: 'organization',
    sectors: ['technology'],
    contact_information: 'cert@example.org',
  };
}

/** The leading properties of a new SDO or SRO of `type`, created by the demo identity at the current time. */
function commonProperties(c: Corpus, type: string): StixObject {
  const now = ts(c.base, c.t);
  return { type, spec_version: '2.1', id: `${type}--${c.rng.uuid4()}`, created_by_ref: c.identity.id, created: now, modified: now };
}

/** One of the last `window` objects produced (the identity if there are none). */
function recent(c: Corpus, window: number): StixObject {
  return c.out[c.out.length - 1 - c.rng.int(Math.min(c.out.length, window))] ?? c.identity;
}

function indicator(c: Corpus): StixObject {
  const { rng } = c;
  const ip = randomIpv4(rng);
  const domain = `${rng.pick(['login', 'secure', 'update', 'cdn', 'mail'])}-${rng.uuid4().slice(0, 8)}.${rng.pick(TLDS)}`;
  const hash = randomHex(rng, 64);
  const kind = rng.int(3);
  const pattern = kind === 0 ? `[ipv4-addr:value = '${ip}']` : kind === 1 ? `[domain-name:value = '${domain}']` : `[file:hashes.'SHA-256' = '${hash}']`;
  return {
    ...commonProperties(c, 'indicator'),
    name: `${rng.pick(MALWARE)} ${['C2 address', 'delivery domain', 'payload hash'][kind]}`,
    description: 'Observed in phishing campaign infrastructure; high confidence from sandbox detonation and passive DNS.',
    indicator_types: ['malicious-activity'],
    pattern,
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: ts(c.base, c.t),
    kill_chain_phases: [{ kill_chain_name: 'mitre-attack', phase_name: rng.pick(['command-and-control', 'initial-access', 'execution']) }],
    confidence: 50 + rng.int(50),
    labels: ['tlp-green'],
    object_marking_refs: ['marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da'],
  };
}

function malware(c: Corpus): StixObject {
  const obj: StixObject = {
    ...commonProperties(c, 'malware'),
    name: c.rng.pick(MALWARE),
    description: 'Modular loader distributed through malspam; drops follow-on payloads.',
    malware_types: ['trojan', 'dropper'],
    is_family: true,
    aliases: [`${c.rng.pick(MALWARE)}-variant`],
    capabilities: ['communicates-with-c2', 'evades-av'],
  };
  c.malwareIds.push(obj.id);
  return obj;
}

function threatActor(c: Corpus): StixObject {
  return {
    ...commonProperties(c, 'threat-actor'),
    name: c.rng.pick(ACTORS),
    threat_actor_types: ['crime-syndicate'],
    sophistication: 'advanced',
    resource_level: 'organization',
    primary_motivation: 'financial-gain',
    goals: ['steal payment data'],
    sectors: [c.rng.pick(SECTORS)],
  };
}

function relationship(c: Corpus): StixObject {
  const src = recent(c, 50);
  const tgt = c.malwareIds.length > 0 ? c.rng.pick(c.malwareIds) : c.identity.id;
  return {
    ...commonProperties(c, 'relationship'),
    relationship_type: src.type === 'indicator' ? 'indicates' : 'related-to',
    source_ref: src.id,
    target_ref: tgt,
  };
}

function ipv4Addr(c: Corpus): StixObject {
  const value = randomIpv4(c.rng);
  return { type: 'ipv4-addr', spec_version: '2.1', id: `ipv4-addr--${c.rng.uuid4()}`, value };
}

function sighting(c: Corpus): StixObject {
  const ref = recent(c, 20);
  return {
    ...commonProperties(c, 'sighting'),
    first_seen: ts(c.base, c.t - 3600),
    last_seen: ts(c.base, c.t),
    count: 1 + c.rng.int(20),
    sighting_of_ref: ref.id,
    where_sighted_refs: [c.identity.id],
  };
}

/** The mix of new objects: a roll in [0, 1) below `below` (and not below the previous row's) makes that kind. */
const KINDS: readonly { readonly below: number; readonly make: (c: Corpus) => StixObject }[] = [
  { below: 0.5, make: indicator },
  { below: 0.62, make: malware },
  { below: 0.67, make: threatActor },
  { below: 0.87, make: relationship },
  { below: 0.94, make: ipv4Addr },
];

function makeObject(c: Corpus, roll: number): StixObject {
  for (const kind of KINDS) if (roll < kind.below) return kind.make(c);
  return sighting(c);
}

/** Types of which some objects get later versions. */
const VERSIONED_TYPES: ReadonlySet<string> = new Set(['indicator', 'malware']);

/** Posts a later version of one of the versioned objects, one second on. */
function reviseEarlierObject(c: Corpus): void {
  const prev = c.versioned[c.rng.int(c.versioned.length)];
  if (prev === undefined) return;
  c.t += 1;
  const v: StixObject = { ...prev, modified: ts(c.base, c.t), confidence: 10 + c.rng.int(90), revoked: false };
  c.out.push(v);
  c.versioned[c.versioned.indexOf(prev)] = v;
}

/** Generates `count` objects (object versions), in an order a producer would post them. */
export function generateCorpus(count: number, opts: CorpusOptions = {}): StixObject[] {
  const rng = new Rng(opts.seed ?? 42);
  const base = Date.UTC(2024, 0, 1);
  const identity = demoIdentity(rng, base);
  const c: Corpus = { rng, base, identity, out: [identity], malwareIds: [], versioned: [], t: 60 };
  const versionedShare = opts.versionedShare ?? 0.1;
  while (c.out.length < count) {
    c.t += 1 + rng.int(30);
    const obj = makeObject(c, rng.next());
    c.out.push(obj);
    if (VERSIONED_TYPES.has(obj.type) && rng.next() < versionedShare) c.versioned.push(obj);
    // Later versions of earlier objects arrive interleaved with new content.
    if (c.versioned.length > 0 && rng.next() < 0.08 && c.out.length < count) reviseEarlierObject(c);
  }
  return c.out.slice(0, count);
}

/** Splits objects into envelopes of `size`. */
export function envelopes(objects: readonly StixObject[], size: number): { objects: StixObject[] }[] {
  const out: { objects: StixObject[] }[] = [];
  for (let i = 0; i < objects.length; i += size) out.push({ objects: objects.slice(i, i + size) });
  return out;
}

/** A minimal valid STIX 2.1 indicator version, for tests that need many small objects. */
export function minimalIndicator(id: string, modified = '2024-01-01T00:00:00.000Z', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id,
    created: '2020-01-01T00:00:00.000Z',
    modified,
    name: 'test',
    pattern: "[ipv4-addr:value = '203.0.113.9']",
    pattern_type: 'stix',
    valid_from: '2020-01-01T00:00:00Z',
    ...extra,
  };
}

/**
 * An Add Objects body of about `mib` MiB (issue 12's largest envelopes): one indicator whose
 * description fills it, or realistic objects of the generated corpus until the size is reached.
 */
export function largeEnvelope(shape: 'one object' | 'many small', mib: number, seed = 7): { body: string; objects: number } {
  const size = mib * 1024 * 1024;
  if (shape === 'one object') {
    const obj = { ...minimalIndicator('indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f'), description: 'x'.repeat(size - 400) };
    return { body: JSON.stringify({ objects: [obj] }), objects: 1 };
  }
  const parts: string[] = [];
  let length = 14;
  for (const o of generateCorpus(Math.ceil(size / 700), { seed })) {
    const text = JSON.stringify(o);
    if (length + text.length + 1 > size) break;
    parts.push(text);
    length += text.length + 1;
  }
  return { body: `{"objects":[${parts.join(',')}]}`, objects: parts.length };
}
