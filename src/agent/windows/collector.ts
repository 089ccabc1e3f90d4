/**
 * Windows Event Log collector: reads channels (System, Application, Security,
 * any named one) through wevtutil or PowerShell, from a bookmark per channel.
 *
 * Design note: one poll of a channel runs one query from the bookmarked record
 * on (two when the log turns out to have been cleared), parses the XML as it
 * streams out of the child process, and hands back the events with a commit()
 * that advances and persists the bookmark. The caller commits only after the
 * events were delivered, so a crash or a failed send re-reads them
 * (at-least-once). Running the commands (spawnRunner) needs Windows; everything
 * else runs anywhere, and the tests drive it with captured output.
 */
import { spawn } from 'node:child_process';
import type { WindowsEvent } from '../../record/normalize/windows.ts';
import { BookmarkStore, bookmarkOf, reconcile, type Bookmark } from './bookmark.ts';
import { powershellNewest, powershellQuery, wevtutilNewest, wevtutilQuery, type CommandLine, type EventQuery } from './commands.ts';
import { eventFromTree, renderXml } from './event.ts';
import { EventXmlReader } from './xml.ts';

/** Runs a command, yielding its decoded stdout; throws (with stderr) when it fails. */
export type CommandRunner = (command: CommandLine) => AsyncIterable<string>;

export interface WindowsCollectorOptions {
  channels: string[];
  method: 'wevtutil' | 'powershell';
  /** Events per query, at most. */
  batchSize: number;
  /** Ask for rendered messages (wevtutil /f:RenderedXml, PowerShell FormatDescription()). */
  rendered: boolean;
  /** Where to begin on a channel without a bookmark. */
  startAt: 'oldest' | 'newest';
  /** Bookmark state file. */
  stateFile: string;
  /** Longest event text accepted. */
  maxEventChars?: number;
  run?: CommandRunner;
  /** Conditions worth telling an operator (cleared logs, overwritten records). */
  onNotice?: (channel: string, message: string) => void;
}

export interface ChannelBatch {
  channel: string;
  events: WindowsEvent[];
  /** Records overwritten before they could be read. */
  missed: bigint;
  /** Advances the channel's bookmark past these events and persists it. */
  commit(): void;
}

export class WindowsEventLogCollector {
  private readonly options: WindowsCollectorOptions;
  private readonly bookmarks: BookmarkStore;
  private readonly run: CommandRunner;

  constructor(options: WindowsCollectorOptions) {
    this.options = options;
    this.bookmarks = BookmarkStore.load(options.stateFile);
    this.run = options.run ?? spawnRunner;
  }

  bookmark(channel: string): Bookmark | undefined {
    return this.bookmarks.get(channel);
  }

  private async query(command: CommandLine): Promise<WindowsEvent[]> {
    const reader = new EventXmlReader(this.options.maxEventChars);
    const events: WindowsEvent[] = [];
    let first = true;
    for await (let text of this.run(command)) {
      if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
      for (const el of reader.write(text)) events.push(eventFromTree(el, renderXml(el)));
    }
    for (const el of reader.end()) events.push(eventFromTree(el, renderXml(el)));
    return events;
  }

  private eventQuery(q: EventQuery): CommandLine {
    return this.options.method === 'wevtutil' ? wevtutilQuery(q) : powershellQuery(q);
  }

  /** Reads the next events of a channel. */
  async poll(channel: string): Promise<ChannelBatch> {
    const { batchSize, rendered } = this.options;
    let bookmark = this.bookmarks.get(channel);
    if (!bookmark && this.options.startAt === 'newest') {
      const newest = await this.query(this.options.method === 'wevtutil' ? wevtutilNewest(channel) : powershellNewest(channel));
      const b = newest[0] && bookmarkOf(newest[0]);
      if (b) {
        this.bookmarks.set(channel, b);
        this.bookmarks.save();
        bookmark = b;
      }
    }
    // One more than the batch: the bookmarked record comes back first.
    let events = await this.query(this.eventQuery({ channel, fromRecordId: bookmark?.recordId, max: batchSize + (bookmark ? 1 : 0), rendered }));
    let result = reconcile(bookmark, events);
    if (result.kind === 'reset') {
      this.options.onNotice?.(channel, `${result.reason}; reading it again from its oldest record`);
      this.bookmarks.set(channel, undefined);
      this.bookmarks.save();
      events = await this.query(this.eventQuery({ channel, max: batchSize, rendered }));
      result = reconcile(undefined, events);
    }
    if (result.kind === 'reset') throw new Error('unreachable: a channel without a bookmark cannot reset');
    if (result.missed > 0n) this.options.onNotice?.(channel, `${result.missed} records were overwritten before they could be read (the log wrapped)`);
    const last = result.events.at(-1);
    return {
      channel,
      events: result.events,
      missed: result.missed,
      commit: () => {
        const b = last && bookmarkOf(last);
        if (!b) return;
        this.bookmarks.set(channel, b);
        this.bookmarks.save();
      },
    };
  }
}

/** Runs a command line as a child process (Windows: wevtutil.exe / powershell.exe on PATH). */
export async function* spawnRunner(command: CommandLine): AsyncIterable<string> {
  const child = spawn(command.command, command.args, { windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const decoder = new TextDecoder(command.encoding);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const text = decoder.decode(chunk, { stream: true });
      if (text) yield text;
    }
    const tail = decoder.decode();
    if (tail) yield tail;
    const { code, error } = await exited;
    if (error) throw new Error(`${command.command} could not be run: ${error.message}`);
    if (code !== 0) throw new Error(`${command.command} exited with ${code}: ${stderr.trim().slice(0, 1000)}`);
  } finally {
    if (child.exitCode === null) child.kill();
  }
}
