/**
 * The Windows Event Log input: the live collector (collector.ts) polling each
 * channel from its bookmark, its events normalized and appended to the disk
 * buffer together with the channel's new bookmark; the collector's own
 * bookmark file is advanced after that append.
 *
 * Design note: the buffer is the authority on what was collected. If the
 * agent dies between the buffer write and the bookmark file's save, the
 * bookmark file is behind; at start it is brought up to the buffer's
 * position, so the events are not collected twice. Windows only: on any
 * other OS the input refuses to start, naming the evtx input for exported
 * files.
 */
import { join } from 'node:path';
import { normalizeWindowsEvent } from '../../record/normalize/windows.ts';
import { nowNs } from '../../record/time.ts';
import type { WindowsInputConfig } from '../config.ts';
import { agentInputs, loopInput, pause, type Input, type InputContext, type InputFactory } from '../input.ts';
import { encodeRecord, withInputFields } from '../record.ts';
import { BookmarkStore, bookmarkOf } from './bookmark.ts';
import { WindowsEventLogCollector, type CommandRunner } from './collector.ts';

type Position = { record_id: string; system_time: string };

export function createWindowsInput(
  cfg: WindowsInputConfig,
  name: string,
  ctx: InputContext,
  env: { platform?: NodeJS.Platform; run?: CommandRunner } = {},
): Input {
  const platform = env.platform ?? process.platform;
  if (platform !== 'win32') {
    throw new Error(`inputs.windows: the Windows Event Log input runs only on Windows (this machine runs ${platform}); to read exported .evtx files use inputs.evtx`);
  }
  const { buffer, metrics, logger } = ctx;
  const stateFile = join(ctx.stateDir, 'windows-bookmarks.json');
  const bookmarks = BookmarkStore.load(stateFile);
  for (const channel of cfg.channels) {
    const pos = buffer.position(`windows:${channel}`) as Position | undefined;
    const mark = bookmarks.get(channel);
    if (pos && (!mark || BigInt(pos.record_id) > mark.recordId)) bookmarks.set(channel, { recordId: BigInt(pos.record_id), systemTime: pos.system_time });
  }
  bookmarks.save();
  const collector = new WindowsEventLogCollector({
    channels: cfg.channels,
    method: cfg.method,
    batchSize: cfg.batch_size,
    rendered: cfg.rendered,
    startAt: cfg.start_at,
    stateFile,
    run: env.run,
    onNotice: (channel, message) => logger.warn({ input: name, channel }, message),
  });
  const controller = new AbortController();

  /** One poll of a channel; returns whether it came back full (more waiting). */
  const pollChannel = async (channel: string): Promise<boolean> => {
    const batch = await collector.poll(channel);
    if (batch.missed > 0n) metrics.dropped.inc({ reason: 'windows_log_wrapped' }, Number(batch.missed));
    const last = batch.events.at(-1);
    const mark = last && bookmarkOf(last);
    if (!mark) {
      metrics.inputLag.set({ input: `${name}:${channel}` }, 0);
      return false;
    }
    const now = nowNs();
    const records = batch.events.map((e) => encodeRecord(withInputFields(normalizeWindowsEvent(e, now, cfg.keep_raw), cfg)));
    const position: Position = { record_id: mark.recordId.toString(), system_time: mark.systemTime };
    await buffer.append(records, { [`windows:${channel}`]: position });
    batch.commit();
    metrics.read.inc({ input: name }, records.length);
    const ts = normalizeWindowsEvent(last, now).ts;
    metrics.inputLag.set({ input: `${name}:${channel}` }, Math.max(0, Number(now - ts) / 1e9));
    return batch.events.length >= cfg.batch_size;
  };

  const loop = async () => {
    const signal = controller.signal;
    while (!signal.aborted) {
      let more = false;
      for (const channel of cfg.channels) {
        if (signal.aborted) break;
        try {
          if (await pollChannel(channel)) more = true;
        } catch (err) {
          logger.error({ input: name, channel, err: (err as Error).message }, 'reading a Windows event channel failed; retrying');
        }
      }
      if (!more) await pause(cfg.poll_interval, signal);
    }
  };

  return loopInput(name, controller, loop);
}

agentInputs.register('windows', createWindowsInput as InputFactory<never>);
