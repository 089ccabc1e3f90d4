/**
 * Loghub samples from ../shared/data/loghub: raw lines and, from the
 * structured CSVs, each line's content and ground-truth template id.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv } from '../../src/util/csv.ts';
import { sharedDataDir } from '../../test/helpers/shared-data.ts';

export const LOGHUB_DIR = sharedDataDir('loghub', 'CAIRN_LOGHUB_DIR');

export interface Dataset {
  name: string;
  lines: string[];
}

export function datasetNames(dir = LOGHUB_DIR): string[] {
  if (!existsSync(dir)) throw new Error(`Loghub data not found at ${dir} (set CAIRN_LOGHUB_DIR)`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('_2k.log'))
    .map((f) => f.replace(/_2k\.log$/, ''))
    .sort();
}

export function loadRawLines(name: string, dir = LOGHUB_DIR): string[] {
  return readFileSync(join(dir, `${name}_2k.log`), 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.length > 0);
}


export interface StructuredLine {
  content: string;
  eventId: string;
  /** The ground-truth template, `<*>` for variables. */
  template: string;
  level?: string;
}

export function loadStructured(name: string, dir = LOGHUB_DIR): StructuredLine[] {
  const rows = parseCsv(readFileSync(join(dir, `${name}_2k.log_structured.csv`), 'utf8'));
  const header = rows[0]!;
  const content = header.indexOf('Content');
  const eventId = header.indexOf('EventId');
  const template = header.indexOf('EventTemplate');
  const level = header.indexOf('Level');
  return rows.slice(1).filter((r) => r.length === header.length).map((r) => ({
    content: r[content]!,
    eventId: r[eventId]!,
    template: r[template]!,
    level: level >= 0 ? r[level] : undefined,
  }));
}
