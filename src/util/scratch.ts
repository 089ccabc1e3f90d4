/**
 * A buffer reused from one write to the next on a hot path. The agent turns
 * every file read into records and frames of a few hundred KiB: allocating
 * those anew each time leaves V8 to free them later, and between collections
 * the dead ones add up to megabytes of resident memory. A request larger than
 * `keepBytes` (4 MiB unless given) gets a buffer of its own, so one huge
 * write is not kept.
 *
 * The buffer is valid until the next take(): only for work that ends before
 * its owner takes again.
 */
export class ScratchBuffer {
  private buf: Buffer = Buffer.alloc(0);
  private readonly keepBytes: number;

  constructor(keepBytes = 4 * 1024 * 1024) {
    this.keepBytes = keepBytes;
  }

  /** `size` bytes, uninitialized. */
  take(size: number): Buffer {
    if (size <= this.buf.length) return this.buf.subarray(0, size);
    if (size > this.keepBytes) return Buffer.allocUnsafe(size);
    // Grow with room, so slowly growing requests do not reallocate each time.
    this.buf = Buffer.allocUnsafe(Math.min(this.keepBytes, Math.max(size, this.buf.length * 2, 64 * 1024)));
    return this.buf.subarray(0, size);
  }
}
