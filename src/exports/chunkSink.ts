import type { ChunkStore } from './chunkStore.js';

const utf8 = new TextEncoder();

/** Size of one stored piece of an export's file. */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Collects an export's text and stores it as numbered ExportChunk rows of CHUNK_BYTES (the last one
 * shorter), so the file never sits whole in memory and every instance can serve it from the
 * database. Text is encoded at once into one buffer reused for every chunk: each row's string dies
 * young instead of waiting, promoted to the old heap, for its chunk to fill.
 */
export class ChunkSink {
  private readonly buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private seq = 0;
  /** Bytes written so far, the file's final size once `end` returned. */
  bytes = 0;

  constructor(
    private readonly store: ChunkStore,
    private readonly exportId: string,
  ) {}

  /** Appends text; each call must hold whole characters (a row), never half of a surrogate pair. */
  async write(text: string): Promise<void> {
    let rest = text;
    while (rest.length > 0) {
      const room = CHUNK_BYTES - this.used;
      // A UTF-16 code unit is at most 3 UTF-8 bytes: when that much room is left, the text fits.
      if (rest.length * 3 <= room) {
        this.used += this.buffer.write(rest, this.used, 'utf8');
        return;
      }
      // encodeInto writes whole characters only and says how much of the text it took.
      const { read, written } = utf8.encodeInto(rest, this.buffer.subarray(this.used));
      this.used += written;
      if (read === rest.length) return;
      await this.flush();
      rest = rest.slice(read);
    }
  }

  async end(): Promise<void> {
    if (this.used > 0) await this.flush();
  }

  private async flush(): Promise<void> {
    // The store has bound (copied) the bytes once insert resolves, so the buffer can be refilled.
    await this.store.insert(this.exportId, this.seq++, this.buffer.subarray(0, this.used));
    this.bytes += this.used;
    this.used = 0;
  }
}
