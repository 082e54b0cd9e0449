import { afterEach, describe, expect, it } from 'vitest';
import { DomainError } from '@taxiway/domain';
import { bodyOf, IngestPool } from './ingest-pool';

const MT = { mediaTypes: ['application/stix+json;version=2.1'], maxObjects: 10_000 };

const indicator = (i: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'indicator',
  spec_version: '2.1',
  id: `indicator--00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  created: '2024-01-01T00:00:00.000Z',
  modified: '2024-01-01T00:00:00.000001Z',
  pattern: "[ipv4-addr:value = '198.51.100.1']",
  pattern_type: 'stix',
  valid_from: '2024-01-01T00:00:00Z',
  ...extra,
});

/** A body in segments with memory of their own, as the body reader hands it over. */
function segmented(text: string, size: number): { segments: Uint8Array[]; length: number; owned: boolean } {
  const bytes = Buffer.from(text);
  const segments: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const seg = Buffer.allocUnsafeSlow(Math.min(size, bytes.length - at));
    bytes.copy(seg, 0, at, at + seg.length);
    segments.push(seg);
  }
  return { segments, length: bytes.length, owned: true };
}

describe('IngestPool', () => {
  let pool: IngestPool | undefined;
  afterEach(async () => {
    await pool?.close();
  });

  it('prepares an envelope on a worker exactly as inline: entries in order, large texts as UTF-8 bytes', async () => {
    const objects = [indicator(1), { type: 'indicator', id: 'nope' }, indicator(2, { description: 'é✓'.repeat(700_000) }), indicator(3)];
    const text = JSON.stringify({ objects });
    const inline = await new IngestPool({ workers: 0, inlineBytes: 0 }).prepare(bodyOf(Buffer.from(text)), MT);
    pool = new IngestPool({ workers: 1, inlineBytes: 0 });
    // Segments cut inside multi-byte characters: the worker joins them before decoding.
    const viaWorker = await pool.prepare(segmented(text, 65_537), MT);
    expect(viaWorker.total).toBe(4);
    expect(viaWorker.valid.map((v) => v.index)).toEqual([0, 2, 3]);
    expect(viaWorker.invalid.map((f) => f.index)).toEqual([1]);
    const big = viaWorker.valid[1]!.record;
    expect(big.raw).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(big.raw as Uint8Array).toString('utf8')).toBe(JSON.stringify(objects[2]));
    expect(big.versionUs).toBe(1_704_067_200_000_001n);
    const text0 = (r: string | Uint8Array): string => (typeof r === 'string' ? r : Buffer.from(r).toString('utf8'));
    expect(viaWorker.valid.map((v) => text0(v.record.raw))).toEqual(inline.valid.map((v) => text0(v.record.raw)));
    expect(viaWorker.invalid).toEqual(inline.invalid);
  });

  it('passes a refusal of the whole envelope back as the DomainError (422, 413, 400)', async () => {
    pool = new IngestPool({ workers: 1, inlineBytes: 0 });
    const refusal = (text: string): Promise<unknown> => pool!.prepare(bodyOf(Buffer.from(text)), MT).catch((e: unknown) => e);
    expect(await refusal('{"objects":[1]}')).toMatchObject({ code: 'Unprocessable' });
    expect(await refusal(`{"objects":[${Array(10_001).fill('{}').join(',')}]}`)).toMatchObject({ code: 'PayloadTooLarge', details: { max_objects: 10_000 } });
    expect(await refusal('{"objects":')).toMatchObject({ code: 'BadRequest' });
    expect(await refusal('\u00ff')).toBeInstanceOf(DomainError);
  });

  it('answers 503 for envelopes still being prepared or waiting when the pool closes (a worker that exits fails its envelope)', async () => {
    pool = new IngestPool({ workers: 1, inlineBytes: 0 });
    const body = (): ReturnType<typeof bodyOf> =>
      bodyOf(Buffer.from(JSON.stringify({ objects: [indicator(1, { description: 'x'.repeat(8 * 1024 * 1024) })] })));
    const busy = pool.prepare(body(), MT).catch((e: unknown) => e);
    const waiting = pool.prepare(body(), MT).catch((e: unknown) => e);
    await pool.close();
    expect(await busy).toMatchObject({ code: 'Unavailable' });
    expect(await waiting).toMatchObject({ code: 'Unavailable' });
    pool = undefined;
  });
});
