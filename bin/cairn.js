#!/usr/bin/env node
// The `cairn` command. Cairn's sources are TypeScript run directly by Node 24
// (type stripping); on an older Node this re-runs itself with the Node 24 that
// `npm install` put in node_modules (the `node` devDependency).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  const r = spawnSync(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
// The server is long-running and memory-bound (RSS target 1 GiB under
// sustained ingest); two settings must be in place before the process starts,
// so it replaces itself once (same pid) with them. Measured on 2M lines of
// ingest: glibc's per-thread malloc arenas (DuckDB's threads, libuv's) and
// V8's default 16 MiB semi-spaces cost ~230 MiB of peak RSS together, for a
// ~3% throughput cost. Settings given explicitly are kept.
if (process.argv[2] === 'server' && !process.env.CAIRN_PROCESS_TUNED && typeof process.execve === 'function') {
  const flags = process.execArgv.some((a) => a.startsWith('--max-semi-space-size')) ? [] : ['--max-semi-space-size=4'];
  const env = { ...process.env, CAIRN_PROCESS_TUNED: '1', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], env);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
