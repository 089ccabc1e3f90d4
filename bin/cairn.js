#!/usr/bin/env node
// The `cairn` command. Cairn's sources are TypeScript run directly by Node 24
// (type stripping); on an older Node this re-runs itself with the Node 24 that
// `npm install` put in node_modules (the `node` devDependency).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodeModule from 'node:module';
import { compileCacheDir } from './compile-cache.js';

// The store runs each DuckDB statement on a libuv thread for as long as it
// runs; the pool (4 threads by default, shared with zlib and fs) would let four
// long queries hold up every append's COMMIT. 16 leaves room for the store's 8
// query connections, its writes and the rest. Set before anything uses the pool.
process.env.UV_THREADPOOL_SIZE ??= '16';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const node24 = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node24)) {
    console.error(`cairn needs Node.js 24 or newer (this is ${process.version}); run "npm install" in ${root} first`);
    process.exit(1);
  }
  const r = spawnSync(node24, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
// The server and the agent are long-running and memory-bound (server: RSS
// target 1 GiB under sustained ingest; agent: 150 MB), so the process replaces
// itself once (same pid) with settings that must be in place before it starts.
// glibc's per-thread malloc arenas (DuckDB's threads, libuv's) are capped at
// two. The server gets 4 MiB V8 semi-spaces (measured on 2M lines of ingest:
// arenas and V8's default 16 MiB semi-spaces cost ~230 MiB of peak RSS
// together, for a ~3% throughput cost). The agent gets AGENT_NODE_FLAGS
// (src/agent/service.ts; bench/agent.ts measures them). Settings given
// explicitly are kept.
const TUNED_FLAGS = {
  server: ['--max-semi-space-size=4'],
  agent: ['--max-semi-space-size=1', '--max-old-space-size=64', '--optimize-for-size'],
};
const command = process.argv[2];
if ((command === 'server' || command === 'agent') && !process.env.CAIRN_PROCESS_TUNED && typeof process.execve === 'function') {
  // A flag counts as given on the command line or in NODE_OPTIONS (which the command line would override).
  const givenFlags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const given = (flag) => givenFlags.some((a) => a.startsWith(flag.split('=')[0]));
  const flags = TUNED_FLAGS[command].filter((f) => !given(f));
  const env = { ...process.env, CAIRN_PROCESS_TUNED: '1', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], env);
}
// Cairn's modules compiled and type-stripped once (at `npm install`), not at
// every start: faster starts, and Node's TypeScript stripper (~25 MiB) is never
// loaded when the cache is warm. Set in the environment too, so the store's
// worker thread and child processes use it. Unavailable (read-only, no
// directory): Node says why in the result and runs without it.
const cacheDir = compileCacheDir(root);
process.env.NODE_COMPILE_CACHE = cacheDir;
nodeModule.enableCompileCache?.(cacheDir);
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
