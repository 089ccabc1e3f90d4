/** `cairn server`: runs ingest, store and query API in one process. */
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../util/logger.ts';
import { startServer } from '../server/server.ts';
import { parse } from './args.ts';

export const summary = 'run the Cairn server';

const HELP = `usage: cairn server [options]

Runs Cairn on the embedded store (DuckDB + Parquet under the data directory).

options:
  --listen HOST:PORT   where the API and UI listen (server.listen, default 127.0.0.1:7480)
  --data DIR           data directory (server.data_dir, default ./data)
  --grpc-listen H:P    gRPC listener for OTLP/gRPC and agents (sources.grpc.listen, default off)
  --config FILE        YAML configuration file (cairn.yaml)
  -h, --help           show this help

Settings come from defaults < the config file < CAIRN_SECTION__KEY environment
variables (CAIRN_SERVER__LISTEN=0.0.0.0:7480) < these flags. On a loopback
address without tokens configured the server runs in open local mode.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    listen: { type: 'string' },
    data: { type: 'string' },
    'grpc-listen': { type: 'string' },
    config: { type: 'string', short: 'c' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const config = loadConfig({
    file: values.config,
    flags: { 'server.listen': values.listen, 'server.data_dir': values.data, 'sources.grpc.listen': values['grpc-listen'] },
  });
  const logger = createLogger(config.log.level);
  const server = await startServer(config, logger);
  console.log(`Cairn is running at ${server.url} — data in ${config.server.data_dir}`);
  logger.info({ url: server.url, data: config.server.data_dir, auth: server.auth.mode }, 'cairn server started');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn('second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      server.close().then(resolve, (err) => {
        logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  logger.flush();
  return 0;
}
