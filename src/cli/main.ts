/** `cairn <command>`: dispatches to one file per command. */
import { UsageError } from './args.ts';
import { ConfigError } from '../config/load.ts';

interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  server: () => import('./server.ts'),
  query: () => import('./query.ts'),
  patterns: () => import('./patterns.ts'),
  ingest: () => import('./ingest.ts'),
  import: () => import('./import.ts'),
  token: () => import('./token.ts'),
  config: () => import('./config.ts'),
  agents: () => import('./agents.ts'),
  agent: () => import('./agent.ts'),
};

const SUMMARIES: Record<string, string> = {
  server: 'run the Cairn server (ingest, store, query API)',
  query: 'search logs on a running server',
  patterns: 'list message templates, or mine them from stdin',
  ingest: 'send a file or stdin to a running server',
  import: 'import a Windows .evtx file',
  token: 'create, list and revoke API tokens',
  config: 'check a configuration file',
  agents: 'agent status and per-access-key agent configs',
  agent: 'run the log agent, or install it as a service',
};

export const USAGE = `usage: cairn <command> [options]

commands:
${Object.entries(SUMMARIES)
  .map(([name, s]) => `  ${name.padEnd(8)} ${s}`)
  .join('\n')}

Run "cairn <command> --help" for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
    console.log(pkg.version);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`cairn: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`cairn ${name}: ${err.message}\nRun "cairn ${name} --help" for usage.`);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(`cairn ${name}: ${err.message}`);
      return 78; // EX_CONFIG
    }
    console.error(`cairn ${name}: ${(err as Error).message}`);
    return 1;
  }
}
