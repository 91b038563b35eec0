import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, ChunkSink } from '../../src/exports/chunkSink.js';
import type { ChunkStore } from '../../src/exports/chunkStore.js';

/** A store that keeps copies of what it is given, checking the sequence numbers. */
function memoryStore(): { store: ChunkStore; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const store = {
    async insert(_exportId: string, seq: number, data: Buffer) {
      expect(seq).toBe(chunks.length);
      // Like pg waiting for a pooled connection, copy the bytes only later: the sink must not
      // refill its buffer before insert resolves.
      await new Promise((resolve) => setImmediate(resolve));
      chunks.push(Buffer.from(data));
    },
  } as unknown as ChunkStore;
  return { store, chunks };
}

async function writeAll(pieces: string[]): Promise<{ chunks: Buffer[]; bytes: number }> {
  const { store, chunks } = memoryStore();
  const sink = new ChunkSink(store, 'export-1');
  for (const piece of pieces) await sink.write(piece);
  await sink.end();
  return { chunks, bytes: sink.bytes };
}

describe('ChunkSink', () => {
  it.each([
    ['ASCII', 'row,1\r\n'],
    ['2-byte characters', 'é'],
    ['3-byte characters', '€'],
    ['surrogate pairs', '😀'],
    ['a lone surrogate', '\ud800'],
    ['pieces longer than a chunk', 'x'.repeat(300_000)],
  ])('stores %s byte for byte in full chunks, splitting no character', async (_name, unit) => {
    // About 1 MB in all: several chunks, pieces of every length up to 300 units.
    const pieces = unit.length > 1_000 ? Array.from({ length: 20 }, () => unit) : Array.from({ length: 2_000 }, (_, i) => `${unit.repeat(1 + (i % 300))},`);
    const { chunks, bytes } = await writeAll(pieces);
    const file = Buffer.concat(chunks);
    expect(file.equals(Buffer.from(pieces.join(''), 'utf8'))).toBe(true);
    expect(bytes).toBe(file.length);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(CHUNK_BYTES);
      // A character split between two chunks would decode as U+FFFD in each (a lone surrogate is one anyway).
      if (unit !== '\ud800') expect(chunk.toString('utf8')).not.toContain('\ufffd');
    }
    // Every chunk but the last is full, short only by a character that did not fit.
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThan(CHUNK_BYTES - 4);
  });

  it('stores nothing for an empty file and one chunk for a small one', async () => {
    expect((await writeAll([])).chunks).toEqual([]);
    expect((await writeAll(['', ''])).chunks).toEqual([]);
    const { chunks, bytes } = await writeAll(['id,title\r\n', '1,a\r\n']);
    expect(chunks.map(String)).toEqual(['id,title\r\n1,a\r\n']);
    expect(bytes).toBe(15);
  });

  it('stores text that ends exactly on a chunk boundary without an empty last chunk', async () => {
    const { chunks } = await writeAll(Array.from({ length: 512 }, () => 'x'.repeat(1024)));
    expect(chunks.map((c) => c.length)).toEqual([CHUNK_BYTES, CHUNK_BYTES]);
  });
});
