/** `cairn config check FILE`: validates a configuration file the way the server does at start-up. */
import { loadConfig } from '../config/load.ts';
import { resolveAuthMode } from '../server/server.ts';
import { checkPipelineConfig } from '../pipeline/build.ts';
import '../components.ts';
import { UsageError, parse } from './args.ts';

export const summary = 'check a configuration file';

const HELP = `usage: cairn config check FILE [--print]

Validates FILE (with CAIRN_* environment overrides applied) exactly as
"cairn server --config FILE" would, and reports every problem with its key.

options:
  --print      print the effective configuration (defaults filled in) as JSON
  -h, --help   show this help`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { print: { type: 'boolean' } }, true);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [sub, file] = positionals;
  if (sub !== 'check' || !file || positionals.length > 2) throw new UsageError('expected: cairn config check FILE');
  const config = loadConfig({ file });
  resolveAuthMode(config);
  await checkPipelineConfig(config);
  if (values.print) console.log(JSON.stringify(config, null, 2));
  else console.log(`${file}: ok`);
  return 0;
}
