/** `cairn server`: runs ingest, store and query API in one process. */
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../util/logger.ts';
import { untilSignal } from './until-signal.ts';
import { startServer } from '../server/server.ts';
import { parse } from './args.ts';

export const summary = 'run the Cairn server';

const HELP = `usage: cairn server [options]

Runs Cairn on the embedded store (DuckDB + Parquet under the data directory).

options:
  --listen HOST:PORT      where the API and UI listen (server.listen, default 127.0.0.1:7480)
  --data DIR              data directory (server.data_dir, default ./data)
  --grpc-listen H:P       gRPC listener for OTLP/gRPC and agents (sources.grpc.listen, default off)
  --forward-listen H:P    Fluentd forward protocol listener (sources.forward.listen, e.g. 0.0.0.0:24224; default off)
  --syslog-udp HOST:PORT  syslog over UDP (sources.syslog.udp; port 514 needs root or CAP_NET_BIND_SERVICE)
  --syslog-tcp HOST:PORT  syslog over TCP, newline or octet-counted (sources.syslog.tcp)
  --syslog-tls HOST:PORT  syslog over TLS, RFC 5425 (sources.syslog.tls; needs sources.syslog.tls_cert/tls_key)
  --config FILE           YAML configuration file (cairn.yaml)
  -h, --help              show this help

Settings come from defaults < the config file < CAIRN_SECTION__KEY environment
variables (CAIRN_SERVER__LISTEN=0.0.0.0:7480) < these flags. On a loopback
address without tokens configured the server runs in open local mode.`;

/** Each flag sets one configuration key (and error messages name the flag). */
const FLAG_PATHS: Record<string, string> = {
  listen: 'server.listen',
  data: 'server.data_dir',
  'grpc-listen': 'sources.grpc.listen',
  'forward-listen': 'sources.forward.listen',
  'syslog-udp': 'sources.syslog.udp',
  'syslog-tcp': 'sources.syslog.tcp',
  'syslog-tls': 'sources.syslog.tls',
};

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...Object.fromEntries(Object.keys(FLAG_PATHS).map((flag) => [flag, { type: 'string' as const }])),
    config: { type: 'string', short: 'c' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const flags: Record<string, unknown> = {};
  const flagNames: Record<string, string> = {};
  for (const [flag, path] of Object.entries(FLAG_PATHS)) {
    flags[path] = (values as Record<string, unknown>)[flag];
    flagNames[path] = `--${flag}`;
  }
  const config = loadConfig({ file: values.config as string | undefined, flags, flagNames });
  const logger = createLogger(config.log.level);
  const server = await startServer(config, logger);
  const ui = config.ui.enabled ? ` — web UI at ${server.url}/` : '';
  console.log(`Cairn is running at ${server.url}${ui} — data in ${config.server.data_dir}`);
  logger.info({ url: server.url, data: config.server.data_dir, auth: server.auth.mode }, 'cairn server started');
  await untilSignal(logger, () => server.close());
  logger.flush();
  return 0;
}
