/** Test servers: a real Cairn server in this process (fast) or as a child process (for kill -9). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { validateConfig } from '../../src/config/load.ts';
import { deepMerge } from '../../src/config/load.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { silentLogger } from '../../src/util/logger.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export function tempDir(prefix = 'cairn-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestServer extends RunningServer {
  dataDir: string;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

/** A server on a free loopback port with its own data directory; config overrides merge over test defaults. */
export async function startTestServer(overrides: Record<string, unknown> = {}, dataDir = tempDir()): Promise<TestServer> {
  const base = {
    server: { listen: '127.0.0.1:0', data_dir: dataDir },
    log: { level: 'silent' },
  };
  const config = validateConfig(deepMerge(base, overrides), 'test');
  const server = await startServer(config, silentLogger);
  return {
    ...server,
    dataDir,
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

export interface ChildServer {
  url: string;
  child: ChildProcess;
  stderr(): string;
  /** SIGTERM and wait. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** `cairn server` as a separate process (what an operator runs). */
export async function startChildServer(
  dataDir: string,
  args: string[] = [],
  env: Record<string, string> = {},
  /** A command the server runs under, e.g. nsenter into a namespace. */
  prefix: string[] = [],
): Promise<ChildServer> {
  const port = await freePort();
  const command = [...prefix, process.execPath, join(ROOT, 'bin', 'cairn.js'), 'server', '--listen', `127.0.0.1:${port}`, '--data', dataDir, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, CAIRN_LOG__LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${err}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`server did not become ready: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    url,
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** POST NDJSON records to /api/v1/logs. */
export async function postLogs(url: string, records: unknown[] | string, headers: Record<string, string> = {}): Promise<Response> {
  const body = typeof records === 'string' ? records : records.map((r) => JSON.stringify(r)).join('\n');
  return fetch(`${url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers }, body });
}

export async function query(url: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/v1/query?${new URLSearchParams(params)}`, { headers });
  return { status: res.status, body: await json(res) };
}

/** A response's JSON body, untyped: tests assert on its shape. */
export function json(res: Response): Promise<any> {
  return res.json();
}
