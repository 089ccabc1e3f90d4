/**
 * Fills Node's compile cache for Cairn's modules (run by `npm install`, in
 * the `prepare` script). bin/cairn.js points the cache at the same directory,
 * so `cairn server` and `cairn agent` start from cached, already type-stripped
 * code: faster, and without loading Node's TypeScript stripper at all, which
 * keeps ~25 MiB out of every process (it matters for the agent's 150 MB
 * budget). A stale or missing cache only costs that again: Node checks each
 * entry against the file's content. V8 keeps one cache per set of flags that
 * change code generation, and the agent runs with AGENT_NODE_FLAGS
 * (--optimize-for-size among them): the script fills the cache once as the
 * server runs and once more in a child with the agent's flags.
 */
import { enableCompileCache, flushCompileCache } from 'node:module';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { compileCacheDir } from '../bin/compile-cache.js';

const root = join(import.meta.dirname, '..');
const result = enableCompileCache(compileCacheDir(root));
if (!result.directory) {
  console.error(`warm-compile-cache: compile cache unavailable (${result.message ?? result.status}); cairn still runs, only slower to start`);
  process.exit(0);
}

/** Every non-test module under src/; importing one only defines and registers things, nothing starts. */
function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return modules(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

let loaded = 0;
const refused: string[] = [];
for (const file of modules(join(root, 'src'))) {
  try {
    await import(pathToFileURL(file).href);
    loaded++;
  } catch {
    // Compiled (so cached) but refused to run here, e.g. the store worker outside a worker thread.
    refused.push(relative(root, file));
  }
}
flushCompileCache();
const asAgent = process.argv.includes('--as-agent');
console.log(`compile cache${asAgent ? ' (agent flags)' : ''}: ${loaded} modules in ${relative(root, result.directory)}${refused.length ? `; compiled, not run here: ${refused.join(', ')}` : ''}`);
if (!asAgent) {
  const { AGENT_NODE_FLAGS } = await import('../src/agent/service.ts');
  spawnSync(process.execPath, [...AGENT_NODE_FLAGS, import.meta.filename, '--as-agent'], { stdio: 'inherit' });
}
process.exit(0);
