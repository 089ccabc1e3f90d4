/** `cairn ingest`: sends a file (or stdin) to a running server in batches, retrying when told to. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { LogsSender } from '../client/logs.ts';
import { clientOptions, clientTarget, parse, UsageError } from './args.ts';

export const summary = 'send a file or stdin to a running server';

const HELP = `usage: cairn ingest [FILE|-] [options]

Sends FILE (or stdin) to POST /api/v1/logs in batches. NDJSON lines are sent as
records; plain text is one record per line with the fields given below.

options:
  --format F      ndjson or text (default: ndjson when the first line is a JSON object)
  --host H        host of text lines
  --unit U        unit of text lines
  --service S     service of text lines
  --level L       severity of text lines (default info)
  --batch N       lines per request (default 5000)
  --url URL       server (default $CAIRN_URL or http://127.0.0.1:7480)
  --token TOKEN   API token with the ingest role (default $CAIRN_TOKEN)
  -h, --help      show this help`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...clientOptions,
      format: { type: 'string' },
      host: { type: 'string' },
      unit: { type: 'string' },
      service: { type: 'string' },
      level: { type: 'string' },
      batch: { type: 'string' },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('give one file (or - for stdin)');
  const file = positionals[0] ?? '-';
  const batchSize = values.batch ? Number(values.batch) : 5000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError('--batch must be a positive integer');
  let format = values.format as 'ndjson' | 'text' | undefined;
  if (format && format !== 'ndjson' && format !== 'text') throw new UsageError('--format must be ndjson or text');
  const { url, token } = clientTarget(values);
  const query = new URLSearchParams();
  for (const key of ['host', 'unit', 'service', 'level'] as const) {
    const v = values[key];
    if (typeof v === 'string') query.set(key, v);
  }

  const input = file === '-' ? process.stdin : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let batch: string[] = [];
  let firstLine = 0;
  let lineNo = 0;
  let sender: LogsSender | undefined;
  const send = (chunk: string[], offset: number) => {
    sender ??= new LogsSender({
      url,
      token,
      query,
      contentType: format === 'text' ? 'text/plain' : 'application/x-ndjson',
      onLineError: (line, reason) => console.error(`line ${line}: ${reason}`),
    });
    return sender.send(chunk, offset);
  };

  for await (const line of lines) {
    lineNo++;
    if (format === undefined) format = line.trimStart().startsWith('{') ? 'ndjson' : 'text';
    if (batch.length === 0) firstLine = lineNo - 1;
    batch.push(line);
    if (batch.length >= batchSize) {
      await send(batch, firstLine);
      batch = [];
    }
  }
  if (batch.length > 0) await send(batch, firstLine);
  const totals = sender?.totals ?? { accepted: 0, rejected: 0 };
  console.error(`sent ${lineNo} lines: ${totals.accepted} accepted, ${totals.rejected} rejected`);
  return totals.rejected > 0 ? 1 : 0;
}
