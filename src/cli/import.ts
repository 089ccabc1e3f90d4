/** `cairn import FILE.evtx`: reads an exported Windows event log and sends its events to a running server. */
import { basename } from 'node:path';
import { EvtxReader, formatIssue } from '../agent/evtx/reader.ts';
import { EvtxFormatError } from '../agent/evtx/values.ts';
import { LogsSender, recordForIngest } from '../client/logs.ts';
import { normalizeWindowsEvent } from '../record/normalize/windows.ts';
import { nowNs } from '../record/time.ts';
import { clientOptions, clientTarget, parse, UsageError } from './args.ts';

export const summary = 'import a Windows .evtx file';

const HELP = `usage: cairn import FILE.evtx [options]

Reads FILE.evtx (an exported or copied Windows event log, on any OS), maps
every event to a record (Level → severity, Provider → unit, Computer → host,
EventData → attrs) and sends them to POST /api/v1/logs in batches.

.evtx files hold no rendered messages (those live in the provider's message
DLL on the machine that wrote the event): a record's message reads
"<Provider> event <EventID>: <EventData>".

Damaged files are read as far as they can be: bad chunks and records are
reported on stderr and skipped; every readable record is sent.

options:
  --dry-run       read and normalize, send nothing
  --ndjson        with --dry-run: print the records, one JSON object per line
  --raw           keep each event's XML in the record's raw field
  --batch N       records per request (default 1000)
  --url URL       server (default $CAIRN_URL or http://127.0.0.1:7480)
  --token TOKEN   API token with the ingest role (default $CAIRN_TOKEN)
  -h, --help      show this help

exit status: 0 when records were read (and, unless --dry-run, all accepted),
even if damaged parts were skipped (they are reported); 1 when nothing was
readable, the server refused records, or the file is not an EVTX file.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...clientOptions,
      'dry-run': { type: 'boolean' },
      ndjson: { type: 'boolean' },
      raw: { type: 'boolean' },
      batch: { type: 'string' },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('give one .evtx file');
  if (values.ndjson && !values['dry-run']) throw new UsageError('--ndjson prints instead of sending: use it with --dry-run');
  const batchSize = values.batch ? Number(values.batch) : 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError('--batch must be a positive integer');
  const file = positionals[0]!;
  const dryRun = values['dry-run'] === true;
  const { url, token } = clientTarget(values);
  const name = basename(file);

  const sender = dryRun
    ? undefined
    : new LogsSender({ url, token, contentType: 'application/x-ndjson', onLineError: (line, reason) => console.error(`${name}: record ${line}: ${reason}`) });
  const reader = EvtxReader.open(file, { onIssue: (issue) => console.error(`${name}: ${formatIssue(issue)}`) });
  // A reader of --ndjson output may stop early (| head): stop reading then, quietly.
  let stdoutClosed = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutClosed = true;
  });
  const started = performance.now();
  let batch: string[] = [];
  let sent = 0;
  let parseMs = 0;
  try {
    let mark = performance.now();
    for (const rec of reader.records()) {
      const line = JSON.stringify(recordForIngest(normalizeWindowsEvent(rec.event, nowNs(), values.raw === true)));
      if (values.ndjson) {
        if (stdoutClosed) break;
        if (!process.stdout.write(line + '\n')) await drained(process.stdout);
      } else if (sender) batch.push(line);
      if (sender && batch.length >= batchSize) {
        parseMs += performance.now() - mark;
        await sender.send(batch, sent);
        sent += batch.length;
        batch = [];
        mark = performance.now();
      }
    }
    parseMs += performance.now() - mark;
    if (sender && batch.length > 0) {
      await sender.send(batch, sent);
      sent += batch.length;
    }
  } catch (err) {
    if (err instanceof EvtxFormatError) throw new Error(`${file}: ${err.message}`);
    throw err;
  } finally {
    reader.close();
  }

  const { stats, issues } = reader;
  const seconds = (performance.now() - started) / 1000;
  const rate = (n: number, s: number) => (s > 0 ? Math.round(n / s) : n);
  const lost = issues.filter((i) => i.level === 'error').length;
  const lines = [
    `${name}: ${stats.records} records read of ${stats.expectedRecords} the chunk headers announce; ${stats.chunks} chunks read, ${stats.badChunks} bad chunks, ${stats.badRecords} bad records`,
    sender
      ? `${name}: sent ${sent} records: ${sender.totals.accepted} accepted, ${sender.totals.rejected} rejected`
      : `${name}: dry run, nothing sent`,
    `${name}: ${seconds.toFixed(2)} s (${rate(stats.records, seconds)} records/s; parsing alone ${rate(stats.records, parseMs / 1000)} records/s)`,
  ];
  if (lost > 0) lines.push(`${name}: warning: the file is damaged; ${lost} problem(s) reported above, every readable record was kept`);
  for (const l of lines) console.error(l);
  if (stats.records === 0) return 1;
  return sender && sender.totals.rejected > 0 ? 1 : 0;
}

/** Resolves when a stream can take more, or has failed (the 'error' listener decides what that means). */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('error', done);
  });
}
