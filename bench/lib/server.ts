/** Starts a real `cairn server` child process for a benchmark and samples its memory. */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer } from '../../test/helpers/server.ts';

/** Resident memory of a process now and its peak (VmRSS, VmHWM), bytes, from /proc. */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU seconds a process used so far (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

export interface BenchServer {
  url: string;
  pid: number;
  dataDir: string;
  child: ChildProcess;
  /** Resident memory now and peak, bytes (from /proc). */
  memory(): { rss: number; peak: number };
  stop(): Promise<void>;
}

export async function startBenchServer(opts: { dataDir?: string; env?: Record<string, string>; keepData?: boolean } = {}): Promise<BenchServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(process.env.CAIRN_BENCH_DIR ?? tmpdir(), 'cairn-bench-'));
  const server = await startChildServer(dataDir, [], { CAIRN_LOG__LEVEL: 'warn', ...opts.env });
  const pid = server.child.pid!;
  return {
    url: server.url,
    pid,
    dataDir,
    child: server.child,
    memory: () => processMemory(pid),
    async stop() {
      await server.stop();
      if (!opts.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Bytes of every file under dir. */
export function duSync(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    try {
      total += statSync(join(e.parentPath, e.name)).size;
    } catch {
      /* removed meanwhile */
    }
  }
  return total;
}

/** Sends bodies with `concurrency` parallel keep-alive requests; retries on 429/503. */
export async function sendAll(
  url: string,
  bodies: Buffer[],
  concurrency: number,
  onAck?: (index: number, at: number) => void,
  headers: Record<string, string> = {},
): Promise<{ retries: number; seconds: number }> {
  let next = 0;
  let retries = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      for (;;) {
        const res = await fetch(`${url}/api/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', ...headers },
          body: bodies[i],
        });
        const text = await res.text();
        if (res.status === 429 || res.status === 503) {
          retries++;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        if (!res.ok) throw new Error(`ingest failed: ${res.status} ${text}`);
        const body = JSON.parse(text) as { rejected: number };
        if (body.rejected > 0) throw new Error(`ingest rejected records: ${text.slice(0, 300)}`);
        onAck?.(i, performance.now());
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { retries, seconds: (performance.now() - started) / 1000 };
}
