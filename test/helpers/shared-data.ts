/**
 * The read-only test data beside the checkout (`../shared/data`: Loghub
 * samples, .evtx files). A checkout sits at /work/main (CI's clean clone too)
 * or in a worktree one level deeper; an environment variable overrides both.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CANDIDATES = [join(ROOT, '..', 'shared', 'data'), join(ROOT, '..', '..', 'shared', 'data'), '/work/shared/data'];

export function sharedDataDir(sub: 'loghub' | 'windows', envVar: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return resolve(fromEnv);
  const found = CANDIDATES.map((d) => join(d, sub)).find((d) => existsSync(d));
  return found ?? join(CANDIDATES[0]!, sub);
}
