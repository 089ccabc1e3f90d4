/**
 * `cairn patterns`: the message templates of a running server's records, and
 * `cairn patterns mine`: templates of stdin lines, offline.
 */
import type { PatternJson } from '../api/patterns.ts';
import { TemplateMiner, type Template } from '../pipeline/templates/miner.ts';
import { clientOptions, getFromServer, parse } from './args.ts';

export const summary = 'list message templates (patterns), or mine them from stdin';

const HELP = `usage: cairn patterns [QUERY] [options]
       cairn patterns mine [--max-templates N] < FILE

The first form lists the templates of the records that match QUERY (the
search syntax of "cairn query") in a time range, most frequent first:
  cairn patterns 'service:sshd level>=warning' --from now-24h

"cairn patterns mine" reads messages on stdin, one per line, and prints
"template_id<TAB>template" for each line, in order, once all input is read:
every line gets the template it ended up in, as if the whole input had been
mined first. (To search for the word "mine", quote it: cairn patterns '"mine"'.)

options:
  --from TIME          start (RFC 3339, epoch ms, or now-1h; default: 1 hour before --to)
  --to TIME            end (default: now)
  --limit N            at most N templates (default 100)
  --json               the server's JSON answer instead of a table
  --url URL            server (default $CAIRN_URL or http://127.0.0.1:7480)
  --token TOKEN        API token with the read role (default $CAIRN_TOKEN)
  --max-templates N    (mine) templates kept in memory, at most (default 1000000)
  -h, --help           show this help`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...clientOptions,
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      'max-templates': { type: 'string' },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals[0] === 'mine') {
    const max = values['max-templates'];
    const maxTemplates = max === undefined ? 1_000_000 : Number(max);
    if (!Number.isInteger(maxTemplates) || maxTemplates < 1) {
      console.error(`cairn patterns mine: --max-templates: expected a positive integer, got ${JSON.stringify(max)}`);
      return 2;
    }
    await mine(process.stdin, process.stdout, new TemplateMiner({ maxTemplates }));
    return 0;
  }
  const body = await getFromServer<{ patterns: PatternJson[] }>('cairn patterns', values, '/api/v1/patterns', { q: positionals.join(' ') }, ['from', 'to', 'limit']);
  if (!body) return 1;
  if (values.json) {
    console.log(JSON.stringify(body, null, 2));
    return 0;
  }
  if (body.patterns.length === 0) {
    console.error('no records matched');
    return 0;
  }
  const countWidth = Math.max(5, ...body.patterns.map((p) => String(p.count).length));
  console.log(`${'COUNT'.padStart(countWidth)}  ${'TEMPLATE_ID'.padEnd(16)}  TEMPLATE`);
  for (const p of body.patterns) {
    const text = (p.template ?? `(unknown template; e.g. ${p.example ?? '?'})`).replace(/[\r\n]+/g, ' ⏎ ');
    console.log(`${String(p.count).padStart(countWidth)}  ${p.template_id.padEnd(16)}  ${text}`);
  }
  return 0;
}

/** Output is written in blocks of about this many characters. */
const OUTPUT_BLOCK = 1 << 16;

/**
 * Mines every line of `input` (LF or CRLF), then writes each line's final
 * template: one template reference per line is kept until the end.
 */
export async function mine(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, miner: TemplateMiner): Promise<void> {
  const assigned: Template[] = [];
  let rest = '';
  input.setEncoding('utf8');
  for await (const chunk of input as AsyncIterable<string>) {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      assigned.push(miner.mine(text.slice(start, end)));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.length > 0) assigned.push(miner.mine(rest.endsWith('\r') ? rest.slice(0, -1) : rest));

  let block = '';
  for (const t of assigned) {
    const current = t.current();
    block += `${current.id}\t${current.text}\n`;
    if (block.length >= OUTPUT_BLOCK) {
      if (!output.write(block)) await new Promise<void>((r) => output.once('drain', () => r()));
      block = '';
    }
  }
  if (block.length > 0) output.write(block);
  await new Promise<void>((resolve, reject) => output.write('', (err) => (err ? reject(err) : resolve())));
}
