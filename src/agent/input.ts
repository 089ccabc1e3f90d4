/**
 * Agent inputs (files, journald, Windows Event Log, .evtx): each kind is a
 * folder that registers a factory here. An input reads from where the buffer
 * says it stopped (DiskBuffer.position) and appends its records together
 * with its new position, so a restart resumes exactly after what is buffered.
 */
import type { Os } from '../record/record.ts';
import { Registry } from '../registry.ts';
import type { Logger } from '../util/logger.ts';
import type { DiskBuffer } from './buffer/buffer.ts';
import type { AgentMetrics } from './metrics.ts';

export interface InputContext {
  buffer: DiskBuffer;
  /** The agent's host name (records whose source does not name one). */
  hostname: string;
  os: Os;
  /** Where inputs with state of their own keep it (Windows bookmarks). */
  stateDir: string;
  logger: Logger;
  metrics: AgentMetrics;
  /** Which input follows a source (a file identity), so two inputs whose globs overlap do not both read it. */
  claims: Map<string, string>;
}

export interface Input {
  readonly name: string;
  /** Starts reading in the background. */
  start(): void;
  /** Stops reading; resolves once none of its appends is pending. Unfinished records are read again next time. */
  stop(): Promise<void>;
}

/**
 * The Input of a source read by one loop: start() runs `loop` once; stop()
 * aborts `controller` (which the loop watches), runs `onAbort` (kill a child,
 * clear a timer), waits for the loop to end, then runs `afterStop` (close what
 * the loop opened).
 */
export function loopInput(
  name: string,
  controller: AbortController,
  loop: () => Promise<void>,
  hooks: { onAbort?: () => void; afterStop?: () => void } = {},
): Input {
  let running: Promise<void> | null = null;
  return {
    name,
    start() {
      running ??= loop();
    },
    async stop() {
      controller.abort();
      hooks.onAbort?.();
      await running;
      hooks.afterStop?.();
    },
  };
}

export type InputFactory<C> = (config: C, name: string, ctx: InputContext) => Input;
export const agentInputs = new Registry<InputFactory<never>>('agent input');

/** Waits ms, or less when the signal fires. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export function agentOs(platform: NodeJS.Platform = process.platform): Os {
  if (platform === 'win32') return 'windows';
  if (platform === 'linux') return 'linux';
  if (platform === 'darwin') return 'macos';
  return 'other';
}
