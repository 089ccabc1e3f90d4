/**
 * The .evtx input: exported Windows event logs dropped into a folder (on any
 * OS) are read once each, with the EVTX parser (reader.ts).
 *
 * Design note: a file is remembered in the buffer's positions by its path,
 * size and mtime, with how many of its records were buffered and whether it
 * is done, in the same write as its records; so a restart in the middle of a
 * large file continues after the last buffered record, a finished file is
 * not read again, and a file replaced by another export (new size or mtime)
 * is read anew. A file modified in the last two seconds is left for the next
 * scan (it may still be being written). Positions of files that are gone are
 * forgotten.
 */
import { existsSync, statSync } from 'node:fs';
import { glob } from 'node:fs/promises';
import { EvtxReader, formatIssue } from './reader.ts';
import { normalizeWindowsEvent } from '../../record/normalize/windows.ts';
import { nowNs } from '../../record/time.ts';
import type { EvtxInputConfig } from '../config.ts';
import { agentInputs, loopInput, pause, type Input, type InputContext, type InputFactory } from '../input.ts';
import { encodeRecord, withInputFields } from '../record.ts';

type Position = { size: number; mtime: number; records: number; done: boolean };

const APPEND_RECORDS = 1000;
const SETTLE_MS = 2000;
const PREFIX = 'evtx:';

export function createEvtxInput(cfg: EvtxInputConfig, name: string, ctx: InputContext): Input {
  const { buffer, metrics, logger } = ctx;
  const controller = new AbortController();

  const readFile = async (path: string, size: number, mtime: number) => {
    const key = PREFIX + path;
    const saved = buffer.position(key) as Position | undefined;
    const same = saved && saved.size === size && saved.mtime === mtime;
    if (same && saved.done) return;
    const skip = same ? saved.records : 0;
    const reader = EvtxReader.open(path, { onIssue: (issue) => logger.warn({ input: name, path }, formatIssue(issue)) });
    let n = 0;
    let batch: Buffer[] = [];
    const flush = async (done: boolean) => {
      const position: Position = { size, mtime, records: n, done };
      await buffer.append(batch, { [key]: position });
      metrics.read.inc({ input: name }, batch.length);
      batch = [];
    };
    try {
      const now = nowNs();
      for (const rec of reader.records()) {
        if (controller.signal.aborted) return;
        if (++n <= skip) continue;
        batch.push(encodeRecord(withInputFields(normalizeWindowsEvent(rec.event, now, cfg.keep_raw), cfg)));
        if (batch.length >= APPEND_RECORDS) await flush(false);
      }
      await flush(true);
      logger.info({ input: name, path, records: reader.stats.records, bad_chunks: reader.stats.badChunks, bad_records: reader.stats.badRecords }, 'read .evtx file');
    } finally {
      reader.close();
    }
  };

  const scan = async () => {
    const seen = new Set<string>();
    for (const pattern of cfg.paths) {
      for await (const path of glob(pattern)) {
        if (controller.signal.aborted) return;
        let st;
        try {
          st = statSync(path);
        } catch {
          continue;
        }
        if (!st.isFile()) continue;
        seen.add(PREFIX + path);
        if (Date.now() - st.mtimeMs < SETTLE_MS) continue;
        try {
          await readFile(path, st.size, st.mtimeMs);
        } catch (err) {
          logger.error({ input: name, path, err: (err as Error).message }, 'cannot read .evtx file');
        }
      }
    }
    for (const key of buffer.positionKeys(PREFIX)) {
      if (!seen.has(key) && !existsSync(key.slice(PREFIX.length))) await buffer.append([], { [key]: null });
    }
  };

  const loop = async () => {
    while (!controller.signal.aborted) {
      try {
        await scan();
      } catch (err) {
        logger.error({ input: name, err: (err as Error).message }, 'evtx scan failed');
      }
      await pause(cfg.scan_interval, controller.signal);
    }
  };

  return loopInput(name, controller, loop);
}

agentInputs.register('evtx', createEvtxInput as InputFactory<never>);
