/**
 * The journald input: follows `journalctl -o export --follow` (the export
 * format is binary-safe: messages with newlines or non-UTF-8 bytes arrive
 * intact), parsed as it streams (the journald source's JournalExportParser),
 * mapped with normalizeJournalEntry.
 *
 * Design note: the position is the journal cursor of the last entry
 * buffered, written to the disk buffer with the entries; journalctl is
 * started again with --after-cursor from it, after a restart of the agent or
 * of journalctl itself (it exits when the journal files it follows vanish),
 * so the journal is read without gaps and without repeats. While an append
 * waits (buffer full with policy block) journalctl's output is not read and
 * the pipe holds it back. Without a cursor, `start_at: end` takes the cursor
 * of the newest entry first (`journalctl -n 1`) and saves it, so a restart
 * before the first new entry still misses nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { normalizeJournalEntry, journalText } from '../../record/normalize/journald.ts';
import { nowNs } from '../../record/time.ts';
import { JournalExportParser, type ParsedEntry } from '../../sources/journald/export.ts';
import type { JournaldInputConfig } from '../config.ts';
import { agentInputs, loopInput, pause, type Input, type InputContext, type InputFactory } from '../input.ts';
import { encodeRecord, withInputFields } from '../record.ts';

const POSITION = 'journald:cursor';
/** Entries per append at most (one write, one cursor). */
const APPEND_ENTRIES = 2000;
const MAX_FIELDS = 1024;

/** journalctl's arguments: which journal, which entries, where to start. */
export function journalctlArgs(cfg: JournaldInputConfig, from: { cursor?: string; newest?: boolean }): string[] {
  const args = ['--output=export', '--no-pager', '--all'];
  if (cfg.directory) args.push(`--directory=${cfg.directory}`);
  for (const f of cfg.files) args.push(`--file=${f}`);
  if (from.newest) args.push('--lines=1');
  else {
    args.push('--follow');
    if (from.cursor) args.push(`--after-cursor=${from.cursor}`);
    else args.push('--no-tail');
  }
  for (const u of cfg.units) args.push(`--unit=${u}`);
  // Matches after the options: journalctl takes them as positional FIELD=value arguments.
  args.push(...cfg.matches);
  return args;
}

export function createJournaldInput(cfg: JournaldInputConfig, name: string, ctx: InputContext): Input {
  const { buffer, metrics, logger } = ctx;
  const controller = new AbortController();
  let child: ChildProcess | null = null;
  let lastDataAt = 0;
  const limits = { maxFieldBytes: cfg.max_field_bytes, maxEntryBytes: Math.max(cfg.max_field_bytes * 4, 1 << 20), maxFields: MAX_FIELDS, oversize: 'truncate' as const };

  /** Runs journalctl once; calls onChunk with its stdout as it comes (awaited: the pipe waits). */
  const runJournalctl = async (args: string[], onEntries: (entries: ParsedEntry[]) => Promise<void>): Promise<void> => {
    const proc = spawn(cfg.journalctl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
      proc.once('error', (error) => resolve({ code: null, error }));
      proc.once('close', (code) => resolve({ code }));
    });
    const parser = new JournalExportParser(limits);
    try {
      for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
        const entries = parser.push(chunk);
        if (entries.length > 0) await onEntries(entries);
        if (controller.signal.aborted) break;
      }
      if (!controller.signal.aborted) {
        const rest = parser.end();
        if (rest.length > 0) await onEntries(rest);
      }
    } finally {
      if (proc.exitCode === null) proc.kill();
      child = null;
    }
    const { code, error } = await exited;
    if (controller.signal.aborted) return;
    if (error) throw new Error(`${cfg.journalctl} could not be run: ${error.message}`);
    if (code !== 0) throw new Error(`${cfg.journalctl} exited with ${code}: ${stderr.trim().slice(0, 1000)}`);
  };

  const store = async (entries: ParsedEntry[]) => {
    for (let i = 0; i < entries.length; i += APPEND_ENTRIES) {
      const part = entries.slice(i, i + APPEND_ENTRIES);
      const now = nowNs();
      const records: Buffer[] = [];
      let cursor: string | undefined;
      let lastTs = 0n;
      for (const e of part) {
        cursor = journalText(e.fields.__CURSOR) ?? cursor;
        if (e.refused) {
          metrics.dropped.inc({ reason: e.refused });
          continue;
        }
        const record = withInputFields(normalizeJournalEntry(e.fields, now, cfg.keep_raw), cfg);
        if (e.truncated) {
          record.attrs.truncated = true;
          metrics.truncated.inc({ input: name });
        }
        lastTs = record.ts;
        records.push(encodeRecord(record));
      }
      await buffer.append(records, cursor ? { [POSITION]: cursor } : undefined);
      metrics.read.inc({ input: name }, records.length);
      lastDataAt = Date.now();
      if (lastTs) metrics.inputLag.set({ input: name }, Math.max(0, Number(now - lastTs) / 1e9));
    }
  };

  const loop = async () => {
    const signal = controller.signal;
    while (!signal.aborted) {
      try {
        let cursor = buffer.position(POSITION) as string | undefined;
        if (!cursor && cfg.start_at === 'end') {
          let newest: string | undefined;
          await runJournalctl(journalctlArgs(cfg, { newest: true }), async (entries) => {
            newest = journalText(entries.at(-1)?.fields.__CURSOR) ?? newest;
          });
          if (newest) {
            await buffer.append([], { [POSITION]: newest });
            cursor = newest;
          }
        }
        if (signal.aborted) break;
        await runJournalctl(journalctlArgs(cfg, { cursor }), store);
        if (!signal.aborted) logger.warn({ input: name }, 'journalctl ended; following again');
      } catch (err) {
        if (signal.aborted) break;
        logger.error({ input: name, err: (err as Error).message }, 'journald input failed; retrying');
      }
      await pause(1000, signal);
    }
  };

  const idle = setInterval(() => {
    if (Date.now() - lastDataAt > 1000) metrics.inputLag.set({ input: name }, 0);
  }, 1000);
  idle.unref();

  return loopInput(name, controller, loop, {
    onAbort() {
      clearInterval(idle);
      child?.kill();
    },
  });
}

agentInputs.register('journald', createJournaldInput as InputFactory<never>);
