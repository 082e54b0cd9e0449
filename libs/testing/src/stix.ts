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

/** Generates `count` objects (object versions), in an order a producer would post them. */
export function generateCorpus(count: number, opts: CorpusOptions = {}): StixObject[] {
  const rng = new Rng(opts.seed ?? 42);
  const base = Date.UTC(2024, 0, 1);
  const out: StixObject[] = [];
  const identity: StixObject = {
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
  out.push(identity);
  const malwareIds: string[] = [];
  const versioned: StixObject[] = [];
  let t = 60;
  while (out.length < count) {
    t += 1 + rng.int(30);
    const roll = rng.next();
    let obj: StixObject;
    if (roll < 0.5) {
      const ip = `${1 + rng.int(223)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
      const domain = `${rng.pick(['login', 'secure', 'update', 'cdn', 'mail'])}-${rng.uuid4().slice(0, 8)}.${rng.pick(TLDS)}`;
      const hash = Array.from({ length: 64 }, () => '0123456789abcdef'[rng.int(16)]).join('');
      const kind = rng.int(3);
      const pattern = kind === 0 ? `[ipv4-addr:value = '${ip}']` : kind === 1 ? `[domain-name:value = '${domain}']` : `[file:hashes.'SHA-256' = '${hash}']`;
      obj = {
        type: 'indicator',
        spec_version: '2.1',
        id: `indicator--${rng.uuid4()}`,
        created_by_ref: identity.id,
        created: ts(base, t),
        modified: ts(base, t),
        name: `${rng.pick(MALWARE)} ${['C2 address', 'delivery domain', 'payload hash'][kind]}`,
        description: 'Observed in phishing campaign infrastructure; high confidence from sandbox detonation and passive DNS.',
        indicator_types: ['malicious-activity'],
        pattern,
        pattern_type: 'stix',
        pattern_version: '2.1',
        valid_from: ts(base, t),
        kill_chain_phases: [{ kill_chain_name: 'mitre-attack', phase_name: rng.pick(['command-and-control', 'initial-access', 'execution']) }],
        confidence: 50 + rng.int(50),
        labels: ['tlp-green'],
        object_marking_refs: ['marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da'],
      };
    } else if (roll < 0.62) {
      obj = {
        type: 'malware',
        spec_version: '2.1',
        id: `malware--${rng.uuid4()}`,
        created_by_ref: identity.id,
        created: ts(base, t),
        modified: ts(base, t),
        name: rng.pick(MALWARE),
        description: 'Modular loader distributed through malspam; drops follow-on payloads.',
        malware_types: ['trojan', 'dropper'],
        is_family: true,
        aliases: [`${rng.pick(MALWARE)}-variant`],
        capabilities: ['communicates-with-c2', 'evades-av'],
      };
      malwareIds.push(obj.id);
    } else if (roll < 0.67) {
      obj = {
        type: 'threat-actor',
        spec_version: '2.1',
        id: `threat-actor--${rng.uuid4()}`,
        created_by_ref: identity.id,
        created: ts(base, t),
        modified: ts(base, t),
        name: rng.pick(ACTORS),
        threat_actor_types: ['crime-syndicate'],
        sophistication: 'advanced',
        resource_level: 'organization',
        primary_motivation: 'financial-gain',
        goals: ['steal payment data'],
        sectors: [rng.pick(SECTORS)],
      };
    } else if (roll < 0.87) {
      const src = out[out.length - 1 - rng.int(Math.min(out.length, 50))] ?? identity;
      const tgt = malwareIds.length > 0 ? rng.pick(malwareIds) : identity.id;
      obj = {
        type: 'relationship',
        spec_version: '2.1',
        id: `relationship--${rng.uuid4()}`,
        created_by_ref: identity.id,
        created: ts(base, t),
        modified: ts(base, t),
        relationship_type: src.type === 'indicator' ? 'indicates' : 'related-to',
        source_ref: src.id,
        target_ref: tgt,
      };
    } else if (roll < 0.94) {
      const value = `${1 + rng.int(223)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
      obj = { type: 'ipv4-addr', spec_version: '2.1', id: `ipv4-addr--${rng.uuid4()}`, value };
    } else {
      const ref = out[out.length - 1 - rng.int(Math.min(out.length, 20))] ?? identity;
      obj = {
        type: 'sighting',
        spec_version: '2.1',
        id: `sighting--${rng.uuid4()}`,
        created_by_ref: identity.id,
        created: ts(base, t),
        modified: ts(base, t),
        first_seen: ts(base, t - 3600),
        last_seen: ts(base, t),
        count: 1 + rng.int(20),
        sighting_of_ref: ref.id,
        where_sighted_refs: [identity.id],
      };
    }
    out.push(obj);
    if ((obj.type === 'indicator' || obj.type === 'malware') && rng.next() < (opts.versionedShare ?? 0.1)) versioned.push(obj);
    // Later versions of earlier objects arrive interleaved with new content.
    if (versioned.length > 0 && rng.next() < 0.08 && out.length < count) {
      const prev = versioned[rng.int(versioned.length)];
      if (prev !== undefined) {
        t += 1;
        const v: StixObject = { ...prev, modified: ts(base, t), confidence: 10 + rng.int(90), revoked: false };
        out.push(v);
        versioned[versioned.indexOf(prev)] = v;
      }
    }
  }
  return out.slice(0, count);
}

/** Splits objects into envelopes of `size`. */
export function envelopes(objects: readonly StixObject[], size: number): { objects: StixObject[] }[] {
  const out: { objects: StixObject[] }[] = [];
  for (let i = 0; i < objects.length; i += size) out.push({ objects: objects.slice(i, i + size) });
  return out;
}
