/**
 * A larger, realistic stream from the Loghub samples: each line is a sample
 * line with its values (the ground truth's `<*>` positions) replaced, so the
 * miner sees new values and new user and host names as it would in
 * production, and the ground truth still holds.
 */
import { datasetNames, loadStructured, type StructuredLine } from './loghub.ts';

/** mulberry32: a small seeded generator, so every run mines the same stream. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pattern {
  eventId: string;
  /** The template's constant parts; values go between them. */
  parts: string[];
  values: string[];
}

/** Splits a line into its template's constant parts and its values (null when the line does not fit its template). */
function decompose(row: StructuredLine, cache: Map<string, RegExp>): Pattern | null {
  let re = cache.get(row.template);
  if (!re) {
    const source = row.template
      .split('<*>')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('(.*?)');
    re = new RegExp(`^${source}$`, 's');
    cache.set(row.template, re);
  }
  const m = re.exec(row.content);
  if (!m) return null;
  return { eventId: row.eventId, parts: row.template.split('<*>'), values: m.slice(1) };
}

/**
 * `n` lines per dataset in the proportions of its sample, each a sample line
 * with its values replaced: digits by random digits, and single-word values
 * (user and host names) by one of 5000 random words half of the time. The
 * templates stay the ground truth, so accuracy can be measured on it too.
 */
export function variedStream(dataset: string, n: number, next: () => number, words: string[]): { lines: string[]; truth: string[] } {
  const cache = new Map<string, RegExp>();
  const patterns = loadStructured(dataset)
    .map((r) => decompose(r, cache))
    .filter((p): p is Pattern => p !== null);
  const lines: string[] = [];
  const truth: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = patterns[Math.floor(next() * patterns.length)]!;
    let line = p.parts[0]!;
    for (let v = 0; v < p.values.length; v++) {
      let value = p.values[v]!;
      if (/^[A-Za-z]{2,}$/.test(value) && next() < 0.5) value = words[Math.floor(next() * words.length)]!;
      else value = value.replace(/[0-9]/g, () => String(Math.floor(next() * 10)));
      line += value + p.parts[v + 1]!;
    }
    lines.push(line);
    truth.push(p.eventId);
  }
  return { lines, truth };
}


/** `total` lines over all datasets: per dataset streams (for accuracy) and one interleaved stream (one tenant's mix). */
export function variedStreams(total: number, seed = 42): { streams: { name: string; lines: string[]; truth: string[] }[]; mixed: string[] } {
  const next = random(seed);
  const words = Array.from({ length: 5000 }, () =>
    Array.from({ length: 4 + Math.floor(next() * 7) }, () => String.fromCharCode(97 + Math.floor(next() * 26))).join(''),
  );
  const names = datasetNames();
  const perDataset = Math.ceil(total / names.length);
  const streams = names.map((name) => ({ name, ...variedStream(name, perDataset, next, words) }));
  const mixed: string[] = [];
  for (let i = 0; i < perDataset; i++) for (const s of streams) mixed.push(s.lines[i]!);
  return { streams, mixed: flat(mixed) };
}

/**
 * The lines as flat strings, as the server gets them from JSON.parse or a
 * buffer: built by concatenation they would be ropes, slower to scan.
 */
export function flat(lines: string[]): string[] {
  return JSON.parse(JSON.stringify(lines)) as string[];
}
