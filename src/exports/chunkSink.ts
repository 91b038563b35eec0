import type { ChunkStore } from './chunkStore.js';

/** Size of one stored piece of an export's file. */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Collects an export's text and stores it as numbered ExportChunk rows of about CHUNK_BYTES, so the
 * file never sits whole in memory and every instance can serve it from the database.
 */
export class ChunkSink {
  private parts: string[] = [];
  private pending = 0;
  private seq = 0;
  /** Bytes written so far, the file's final size once `end` returned. */
  bytes = 0;

  constructor(
    private readonly store: ChunkStore,
    private readonly exportId: string,
  ) {}

  async write(text: string): Promise<void> {
    if (text.length === 0) return;
    this.parts.push(text);
    this.pending += Buffer.byteLength(text, 'utf8');
    if (this.pending >= CHUNK_BYTES) await this.flush();
  }

  async end(): Promise<void> {
    if (this.pending > 0) await this.flush();
  }

  private async flush(): Promise<void> {
    const data = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
    await this.store.insert(this.exportId, this.seq++, data);
    this.bytes += data.length;
  }
}
