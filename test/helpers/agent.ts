/** `cairn agent` as a child process (what an operator runs), and waiting helpers for agent tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, query } from './server.ts';

export interface ChildAgent {
  child: ChildProcess;
  stderr(): string;
  /** SIGTERM and wait. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** Writes `config` as YAML into dir/agent.yaml and starts `cairn agent --config` on it. */
export function startChildAgent(dir: string, config: object): ChildAgent {
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, stringify(config));
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'cairn.js'), 'agent', '--config', file], {
    env: { ...process.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Every stored message matching q (the server must allow a large query.max_limit). */
export async function messages(url: string, q: string, headers: Record<string, string> = {}, limit = 100_000): Promise<string[]> {
  const res = await query(url, { q, from: '2000-01-01T00:00:00Z', limit: String(limit) }, headers);
  if (res.status !== 200) throw new Error(`query failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body.records as { message: string }[]).map((r) => r.message);
}
