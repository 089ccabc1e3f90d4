// Where Node's compile cache for Cairn lives: inside the installation, filled
// by `npm install` (scripts/warm-compile-cache.ts) and read by every cairn
// process (bin/cairn.js). NODE_COMPILE_CACHE overrides it.
import { join } from 'node:path';

export function compileCacheDir(root) {
  return process.env.NODE_COMPILE_CACHE || join(root, 'node_modules', '.cache', 'cairn-compile');
}
