/** `cairn agent`: the log agent (run, or install/uninstall as a service). */
import { loadAgentConfig } from '../agent/config.ts';
import { startAgent } from '../agent/agent.ts';
import { createLogger } from '../util/logger.ts';
import { untilSignal } from './until-signal.ts';
import { parse, UsageError } from './args.ts';

export const summary = 'run the log agent (journald, files, Windows events, .evtx) or install it as a service';

const HELP = `usage:
  cairn agent --config agent.yaml
  cairn agent --server grpcs://logs.example.com:4317 --token TOKEN [--access-key KEY]
  cairn agent install [--config /etc/cairn/agent.yaml] [--dry-run]
  cairn agent uninstall [--dry-run]

Collects logs on this machine and ships them to a Cairn server over the agent
gRPC stream. Every record is written to a disk buffer first and leaves it only
when the server acknowledged it as stored. What to collect comes from the
config file's "inputs" and from the server-side config of the access key
(cairn agents config set KEY FILE on the server), applied without a restart
when it changes. See docs/agent.md.

options:
  --config FILE          agent configuration (YAML)
  --server URL           server.url: grpcs://HOST:PORT (TLS) or grpc://HOST:PORT
  --token TOKEN          server.token: an ingest token (cairn token create --jwt)
  --access-key KEY       server.access_key: which server-side config to follow (default "default")
  --ca FILE              server.ca: PEM of the CA that signed the server's certificate
  --data DIR             agent.data_dir (default /var/lib/cairn-agent; Windows %ProgramData%\\Cairn\\agent)
  --metrics-listen H:P   metrics.listen: /metrics and /healthz here (e.g. 127.0.0.1:9108)
  -h, --help             show this help

install / uninstall:
  Linux: writes /etc/systemd/system/cairn-agent.service (from
  deploy/systemd/cairn-agent.service) and enables it with systemctl.
  Windows: creates the "CairnAgent" service with sc.exe.
  --dry-run prints what would be written and run, and changes nothing.
  The services (and "cairn agent" itself) start Node with --max-semi-space-size=1
  --max-old-space-size=64 --optimize-for-size and MALLOC_ARENA_MAX=2,
  which keeps the agent's memory near its working set (docs/agent.md, Memory).`;

const FLAG_PATHS: Record<string, string> = {
  server: 'server.url',
  token: 'server.token',
  'access-key': 'server.access_key',
  ca: 'server.ca',
  data: 'agent.data_dir',
  'metrics-listen': 'metrics.listen',
};

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...Object.fromEntries(Object.keys(FLAG_PATHS).map((flag) => [flag, { type: 'string' as const }])),
      config: { type: 'string', short: 'c' },
      'dry-run': { type: 'boolean' },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [sub] = positionals;
  if (sub === 'install' || sub === 'uninstall') {
    const service = await import('../agent/service.ts');
    return sub === 'install'
      ? service.install({ config: values.config as string | undefined, dryRun: values['dry-run'] === true })
      : service.uninstall({ dryRun: values['dry-run'] === true });
  }
  if (sub !== undefined && sub !== 'run') throw new UsageError(`unknown subcommand "${sub}" (run, install or uninstall)`);
  const flags: Record<string, { value: unknown; flag: string }> = {};
  for (const [flag, path] of Object.entries(FLAG_PATHS)) flags[path] = { value: (values as Record<string, unknown>)[flag], flag: `--${flag}` };
  const config = loadAgentConfig({ file: values.config as string | undefined, flags });
  const logger = createLogger(config.log.level, 'cairn-agent');
  const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
  const agent = await startAgent(config, logger, pkg.version);
  logger.info({ agent_id: agent.agentId, server: config.server.url, access_key: config.server.access_key, inputs: agent.inputs(), metrics: agent.metricsAddress }, 'cairn agent started');
  await untilSignal(logger, () => agent.close());
  logger.flush();
  return 0;
}
