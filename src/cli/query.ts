/** `cairn query`: searches a running server and prints a table or NDJSON. */
import type { RecordJson } from '../record/record.ts';
import { clientOptions, getFromServer, parse } from './args.ts';

export const summary = 'search logs on a running server';

const HELP = `usage: cairn query [QUERY] [options]

QUERY is the search syntax: words, "phrases", field:value (globs with *),
level>=warning, -negation, OR, parentheses. Example:
  cairn query 'service:api level>=warning "connection reset"' --from now-1h

options:
  --from TIME     start (RFC 3339, epoch ms, or now-1h; default: 1 hour before --to)
  --to TIME       end (default: now)
  --limit N       at most N records (default 100)
  --order ORDER   desc (newest first, default) or asc
  --ndjson        one JSON record per line instead of a table
  --url URL       server (default $CAIRN_URL or http://127.0.0.1:7480)
  --token TOKEN   API token with the read role (default $CAIRN_TOKEN)
  -h, --help      show this help`;

const LEVEL_WIDTH = 7;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...clientOptions,
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      order: { type: 'string' },
      ndjson: { type: 'boolean' },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const body = await getFromServer<{ records: RecordJson[] }>('cairn query', values, '/api/v1/query', { q: positionals.join(' ') }, ['from', 'to', 'limit', 'order']);
  if (!body) return 1;
  if (values.ndjson) {
    for (const r of body.records) process.stdout.write(JSON.stringify(r) + '\n');
    return 0;
  }
  if (body.records.length === 0) {
    console.error('no records matched');
    return 0;
  }
  const hostWidth = Math.min(24, Math.max(4, ...body.records.map((r) => r.host.length)));
  const unitWidth = Math.min(24, Math.max(4, ...body.records.map((r) => r.unit.length)));
  console.log(`${'TIME'.padEnd(24)} ${'LEVEL'.padEnd(LEVEL_WIDTH)} ${'HOST'.padEnd(hostWidth)} ${'UNIT'.padEnd(unitWidth)} MESSAGE`);
  for (const r of body.records) {
    const time = r.ts.slice(0, 23) + 'Z';
    const message = r.message.replace(/[\r\n]+/g, ' ⏎ ').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '�');
    console.log(
      `${time.padEnd(24)} ${r.level.padEnd(LEVEL_WIDTH)} ${r.host.slice(0, hostWidth).padEnd(hostWidth)} ${r.unit.slice(0, unitWidth).padEnd(unitWidth)} ${message}`,
    );
  }
  return 0;
}
