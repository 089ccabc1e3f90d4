/**
 * Bookmarks for the Windows Event Log collector: per channel, the last
 * EventRecordID shipped and that record's TimeCreated.
 *
 * Design note: the state file is replaced atomically (write a temporary file,
 * fsync, rename, fsync the directory), so a crash leaves the old or the new
 * bookmarks, never a torn file; a bookmark advances only after its events
 * were delivered (at-least-once). Record ids alone cannot tell a cleared log
 * from a quiet one (ids restart at 1 after wevtutil cl), so each query starts
 * AT the bookmarked id and reconcile() checks that the same record (same id
 * and time) is still there.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { WindowsEvent } from '../../record/normalize/windows.ts';

export interface Bookmark {
  recordId: bigint;
  systemTime: string;
}

interface StateFile {
  version: 1;
  channels: Record<string, { record_id: string; system_time: string }>;
}

export class BookmarkStore {
  private readonly path: string;
  private readonly channels = new Map<string, Bookmark>();

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Loads the state file (missing: no bookmarks). A file that is not valid
   * state is an error naming the file: silently starting over would re-send
   * or skip a whole log.
   */
  static load(path: string): BookmarkStore {
    const store = new BookmarkStore(path);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return store;
      throw err;
    }
    let state: StateFile;
    try {
      state = JSON.parse(text) as StateFile;
      if (state.version !== 1 || typeof state.channels !== 'object' || state.channels === null) throw new Error('unknown format');
      for (const [channel, b] of Object.entries(state.channels)) {
        if (!/^\d+$/.test(b.record_id) || typeof b.system_time !== 'string') throw new Error(`bad bookmark for ${channel}`);
        store.channels.set(channel, { recordId: BigInt(b.record_id), systemTime: b.system_time });
      }
    } catch (err) {
      throw new Error(`${path}: not a Windows event log bookmark file (${(err as Error).message}); move it away to start over`);
    }
    return store;
  }

  get(channel: string): Bookmark | undefined {
    return this.channels.get(channel);
  }

  set(channel: string, bookmark: Bookmark | undefined): void {
    if (bookmark) this.channels.set(channel, bookmark);
    else this.channels.delete(channel);
  }

  save(): void {
    const state: StateFile = { version: 1, channels: {} };
    for (const [channel, b] of this.channels) state.channels[channel] = { record_id: b.recordId.toString(), system_time: b.systemTime };
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    try {
      const dir = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch {
      // Directories cannot be opened for fsync on Windows; the rename is still atomic there.
    }
  }
}

export function bookmarkOf(event: WindowsEvent): Bookmark | undefined {
  if (event.recordId === undefined) return undefined;
  return { recordId: BigInt(event.recordId), systemTime: String(event.systemTime) };
}

export type Reconciled =
  /** Events after the bookmark; `missed` records were overwritten before they could be read. */
  | { kind: 'continue'; events: WindowsEvent[]; missed: bigint }
  /** The log was cleared (the bookmarked record is gone or is another record now): read it again from the start. */
  | { kind: 'reset'; reason: string };

/**
 * Compares what a query from the bookmarked id returned (oldest first) with
 * the bookmark.
 */
export function reconcile(bookmark: Bookmark | undefined, events: WindowsEvent[]): Reconciled {
  if (!bookmark) return { kind: 'continue', events, missed: 0n };
  const first = events[0];
  if (!first || first.recordId === undefined) {
    return { kind: 'reset', reason: `record ${bookmark.recordId} and everything after it are gone: the log was cleared` };
  }
  const firstId = BigInt(first.recordId);
  if (firstId === bookmark.recordId) {
    if (String(first.systemTime) !== bookmark.systemTime) {
      return { kind: 'reset', reason: `record ${bookmark.recordId} is another event now (written ${first.systemTime}, bookmarked ${bookmark.systemTime}): the log was cleared` };
    }
    return { kind: 'continue', events: events.slice(1), missed: 0n };
  }
  if (firstId > bookmark.recordId) {
    // Overwritten by a wrapping log before it was read: ids keep growing, the oldest ones are gone.
    return { kind: 'continue', events, missed: firstId - bookmark.recordId - 1n };
  }
  return { kind: 'reset', reason: `the log returned record ${firstId} for a query from ${bookmark.recordId}: its ids went backwards` };
}
