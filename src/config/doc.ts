/**
 * docs/configuration.md is generated from the schema (keys, types, defaults,
 * descriptions), so the reference cannot drift from what start-up validates.
 * `npm run docs:config` rewrites it; a test fails when it is stale.
 */
import { z } from 'zod';
import { configSchema } from './schema.ts';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
}

const SECTIONS: Record<string, string> = {
  server: 'Listening address, data directory, shutdown.',
  auth: 'Tokens and open local mode (see security.md).',
  ingest: 'Limits and policies every source applies.',
  sources: 'One subsection per ingest protocol (see protocols/).',
  queue: 'The bounded queue between ingest and the store.',
  store: 'The storage backend.',
  query: 'Search limits and defaults.',
  pipeline: 'Processing between the queue and the store: named stages and routes, template mining, anomalies, related records (see pipeline.md, patterns.md).',
  log: "Cairn's own logging.",
};

function typeText(s: JsonSchema): string {
  if (s.format === 'duration') return 'duration';
  if (s.format === 'size') return 'size';
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeText).join(' or ');
  const t = Array.isArray(s.type) ? s.type : [s.type ?? 'any'];
  if (t.includes('string') && t.includes('number')) return 'duration or size text';
  if (t[0] === 'array') return `list of ${s.items ? typeText(s.items) : 'any'}`;
  return t.join(' or ');
}

function defaultText(s: JsonSchema): string {
  if (s.default === undefined) return '';
  if (typeof s.default === 'object' && s.default !== null && Object.keys(s.default).length === 0 && !Array.isArray(s.default)) return '';
  return `\`${JSON.stringify(s.default)}\``;
}

function rows(schema: JsonSchema, prefix: string[], out: string[]): void {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const path = [...prefix, key];
    if (child.type === 'object' && child.properties && Object.keys(child.properties).length > 0) {
      rows(child, path, out);
      continue;
    }
    const max = child.maximum !== undefined && child.maximum < Number.MAX_SAFE_INTEGER ? `≤ ${child.maximum}` : '';
    const min = child.minimum !== undefined && child.minimum > Number.MIN_SAFE_INTEGER ? `≥ ${child.minimum}` : '';
    const bounds = [min, max].filter(Boolean).join(', ');
    const desc = [child.description ?? '', bounds ? `(${bounds})` : ''].filter(Boolean).join(' ').replaceAll('|', '\\|');
    out.push(`| \`${path.join('.')}\` | ${typeText(child)} | ${defaultText(child)} | ${desc} |`);
  }
}

/** Reference table rows (key, type, default, meaning) of any schema, its keys under prefix. */
export function referenceRows(schema: z.ZodType, prefix: string[] = []): string[] {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out: string[] = [];
  rows(js, prefix, out);
  return out;
}

export function configurationDoc(): string {
  const js = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'Cairn reads one YAML file (`cairn server --config cairn.yaml`), then environment variables, then',
    'command-line flags; later ones win. Every key is checked at start-up: an unknown key or a bad value',
    'stops the server with the key\'s path and the reason (`cairn config check FILE` runs the same check).',
    '',
    '- Environment: `CAIRN_<SECTION>__<KEY>` with `__` between levels, e.g. `CAIRN_SERVER__LISTEN=0.0.0.0:7480`,',
    '  `CAIRN_STORE__DUCKDB__MEMORY_LIMIT=1GiB`. Values are read as YAML scalars (numbers, booleans, text).',
    '- Flags: `--listen` (server.listen), `--data` (server.data_dir), `--config`, and the listener flags of the sources.',
    '- Durations: `500ms`, `30s`, `5m`, `1h`, `7d`, `2w`, `1h30m` (a bare number is seconds). Sizes: `512KiB`, `16MiB`, `1GiB`.',
    '',
  ];
  for (const [section, schema] of Object.entries(js.properties ?? {})) {
    lines.push(`## \`${section}\``, '');
    if (SECTIONS[section]) lines.push(SECTIONS[section]!, '');
    const out: string[] = [];
    rows(schema, [section], out);
    if (out.length === 0) {
      lines.push('(no keys yet)', '');
      continue;
    }
    lines.push('| key | type | default | meaning |', '|---|---|---|---|', ...out, '');
  }
  return lines.join('\n');
}
