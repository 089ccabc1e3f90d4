/**
 * The service catalog: which host and unit belong to which service, team
 * and environment. Entries come from the config and/or a YAML or CSV file
 * (read once at start-up); the first entry whose host and unit globs match
 * a record applies. Lookups are memoized per (host, unit), so a catalog of
 * thousands of entries costs one map lookup per record in steady state.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import type { Attrs } from '../../record/record.ts';
import { parseCsv } from '../../util/csv.ts';

export const catalogEntrySchema = z.strictObject({
  host: z.string().min(1).optional(),
  unit: z.string().min(1).optional(),
  service: z.string().min(1).optional(),
  team: z.string().min(1).optional(),
  env: z.string().min(1).optional(),
  attrs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
export type CatalogEntry = z.output<typeof catalogEntrySchema>;

export interface CatalogMatch {
  service?: string;
  /** team, env and the entry's attrs. */
  attrs: Attrs;
}

function globTest(pattern: string | undefined): (v: string) => boolean {
  if (pattern === undefined) return () => true;
  if (!pattern.includes('*')) return (v) => v === pattern;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[\\^$.+?()[\]{}|]/g, '\\$&')).join('.*')}$`, 'is');
  return (v) => re.test(v);
}

const MAX_MEMO = 50_000;

export class ServiceCatalog {
  private readonly entries: { host: (v: string) => boolean; unit: (v: string) => boolean; match: CatalogMatch }[];
  private readonly memo = new Map<string, CatalogMatch | null>();

  constructor(entries: CatalogEntry[]) {
    this.entries = entries.map((e) => {
      const attrs: Attrs = { ...e.attrs };
      if (e.team) attrs.team = e.team;
      if (e.env) attrs.env = e.env;
      return { host: globTest(e.host), unit: globTest(e.unit), match: { service: e.service, attrs } };
    });
  }

  get size(): number {
    return this.entries.length;
  }

  lookup(host: string, unit: string): CatalogMatch | null {
    const key = `${host}\u0000${unit}`;
    let hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    hit = this.entries.find((e) => e.host(host) && e.unit(unit))?.match ?? null;
    if (this.memo.size >= MAX_MEMO) this.memo.clear();
    this.memo.set(key, hit);
    return hit;
  }
}

/** Entries of a catalog file: YAML (a list of entries, or `{services: [...]}`) or CSV with a header row naming the columns. */
export function readCatalogFile(file: string): CatalogEntry[] {
  const text = readFileSync(file, 'utf8');
  let rows: unknown;
  if (file.toLowerCase().endsWith('.csv')) {
    const [header, ...body] = parseCsv(text).filter((r) => r.some((c) => c.trim() !== ''));
    if (!header) return [];
    rows = body.map((cells) => Object.fromEntries(header.flatMap((h, i) => (cells[i]?.trim() ? [[h.trim(), cells[i]!.trim()]] : []))));
  } else {
    const doc: unknown = parseYaml(text);
    rows = doc !== null && typeof doc === 'object' && !Array.isArray(doc) && 'services' in doc ? (doc as { services: unknown }).services : doc;
  }
  const result = z.array(catalogEntrySchema).safeParse(rows ?? []);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`${file}: entry ${issue.path.map(String).join('.')}: ${issue.message}`);
  }
  return result.data;
}
