/**
 * `cairn agent`: assembles the disk buffer, the inputs, the shipper, the
 * config watch and the local metrics listener, and takes them down in
 * order (inputs stop, in-flight batches get a moment to be acknowledged,
 * the buffer is fsynced and closed).
 *
 * Design note on configs: the inputs that run are the local config's plus
 * the server-side config of the access key (local wins where both name the
 * same input). The server-side config is cached in the data directory when
 * applied, so an agent that restarts while the server is away keeps
 * collecting what it was told. A change is applied input by input: an input
 * whose config is unchanged keeps running; a removed one stops (its
 * positions stay in the buffer, so adding it back resumes); a new or changed
 * one starts. A server-side config that does not validate, or names an input
 * this OS cannot run, is reported (status config_error, a metric, a log
 * line); the inputs that are valid run.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { ConfigError } from '../config/base.ts';
import type { Logger } from '../util/logger.ts';
import { writeFileAtomic } from '../util/atomic-file.ts';
import { DiskBuffer } from './buffer/buffer.ts';
import './components.ts';
import { parseRemoteInputs, type AgentConfig, type InputsConfig } from './config.ts';
import { agentInputs, agentOs, type Input, type InputContext } from './input.ts';
import { createAgentMetrics, startMetricsServer, type AgentMetrics } from './metrics.ts';
import { createAgentClient, type AgentClient, type ConfigUpdate, type Identity } from './ship/client.ts';
import { Shipper } from './ship/shipper.ts';
import { ConfigWatch } from './ship/watch.ts';

export interface RunningAgent {
  agentId: string;
  metrics: AgentMetrics;
  buffer: DiskBuffer;
  shipper: Shipper;
  /** Names of the running inputs. */
  inputs(): string[];
  /** Version of the applied server-side config (0: none) and the last error applying one. */
  serverConfig(): { version: number; error: string };
  /** The local metrics listener's address, when on. */
  metricsAddress: string | null;
  close(): Promise<void>;
}

interface InputSpec {
  key: string;
  kind: string;
  name: string;
  config: unknown;
  json: string;
}

interface CachedServerConfig {
  version: number;
  etag: string;
  config: unknown;
}

/** Each input the inputs sections ask for, local first (a server-side input of the same key is skipped). */
export function inputSpecs(local: InputsConfig, remote: InputsConfig | null): InputSpec[] {
  const specs: InputSpec[] = [];
  const add = (origin: string, inputs: InputsConfig) => {
    const push = (key: string, kind: string, name: string, config: unknown) => {
      if (!specs.some((s) => s.key === key)) specs.push({ key, kind, name, config, json: JSON.stringify(config) });
    };
    for (const f of inputs.files) {
      const name = f.name ?? f.paths[0]!;
      push(`files:${origin}:${name}`, 'files', name, f);
    }
    if (inputs.journald) push('journald', 'journald', 'journald', inputs.journald);
    if (inputs.windows) push('windows', 'windows', 'windows', inputs.windows);
    if (inputs.evtx) push('evtx', 'evtx', 'evtx', inputs.evtx);
  };
  add('local', local);
  if (remote) add('server', remote);
  return specs;
}

function agentIdOf(config: AgentConfig): string {
  if (config.agent.id) return config.agent.id;
  const file = join(config.agent.data_dir, 'agent-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch {
    // first start
  }
  const id = randomUUID();
  writeFileAtomic(file, `${id}\n`, 0o644);
  return id;
}

export async function startAgent(config: AgentConfig, logger: Logger, version: string): Promise<RunningAgent> {
  const dataDir = config.agent.data_dir;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ConfigError([`agent.data_dir: cannot create ${dataDir}: ${(err as Error).message}`], 'agent');
  }
  const agentId = agentIdOf(config);
  const metrics = createAgentMetrics();
  let dropped = 0;
  const buffer = DiskBuffer.open({
    dir: join(dataDir, 'buffer'),
    maxBytes: config.buffer.max_bytes,
    segmentBytes: config.buffer.segment_bytes,
    policy: config.buffer.policy,
    fsyncIntervalMs: config.buffer.fsync_interval,
    onDrop: (n, reason) => {
      dropped += n;
      metrics.dropped.inc({ reason }, n);
      logger.warn({ records: n, reason }, 'buffer full: dropped the oldest unsent records');
    },
    onTorn: (segment, offset, bytes) => {
      metrics.tornBytes.inc(bytes);
      logger.warn({ segment, offset, bytes }, 'buffer: cut off a torn or damaged tail (a crash during a write)');
    },
  });

  const readToken = (): string | null => {
    if (config.server.token_file) {
      try {
        return readFileSync(config.server.token_file, 'utf8').trim() || null;
      } catch (err) {
        logger.error({ file: config.server.token_file, err: (err as Error).message }, 'cannot read the token file');
        return null;
      }
    }
    return config.server.token;
  };
  const identity = (): Identity => ({ token: readToken(), agentId, hostname: config.agent.hostname, version });

  let client: AgentClient;
  try {
    client = createAgentClient({ url: config.server.url, ca: config.server.ca, serverName: config.server.server_name });
  } catch (err) {
    await buffer.close();
    throw new ConfigError([(err as Error).message], 'server');
  }

  let serverVersion = 0;
  let serverError = '';
  const shipper = new Shipper({
    client,
    buffer,
    identity,
    batchRecords: config.ship.batch_records,
    batchBytes: config.ship.batch_bytes,
    maxInFlight: config.ship.max_in_flight,
    heartbeatMs: config.ship.heartbeat_interval,
    reconnectMinMs: config.server.reconnect_min,
    reconnectMaxMs: config.server.reconnect_max,
    status: () => ({ droppedRecords: dropped, configVersion: serverVersion, configError: serverError }),
    metrics,
    logger,
  });

  const ctx: InputContext = { buffer, hostname: config.agent.hostname, os: agentOs(), stateDir: dataDir, logger, metrics, claims: new Map() };
  const running = new Map<string, { spec: InputSpec; input: Input }>();
  let applying: Promise<void> = Promise.resolve();

  /** Brings the running inputs in line with the specs; returns the errors of inputs that could not start. */
  const apply = async (specs: InputSpec[]): Promise<string[]> => {
    const wanted = new Map(specs.map((s) => [s.key, s]));
    for (const [key, { spec, input }] of [...running]) {
      const next = wanted.get(key);
      if (next && next.json === spec.json) continue;
      running.delete(key);
      await input.stop();
      logger.info({ input: spec.name, kind: spec.kind }, 'input stopped');
    }
    const errors: string[] = [];
    for (const spec of specs) {
      if (running.has(spec.key)) continue;
      try {
        const input = agentInputs.get(spec.kind)(spec.config as never, spec.name, ctx);
        input.start();
        running.set(spec.key, { spec, input });
        logger.info({ input: spec.name, kind: spec.kind }, 'input started');
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    return errors;
  };

  const cacheFile = join(dataDir, 'server-config.json');
  const readCache = (): CachedServerConfig | null => {
    try {
      return JSON.parse(readFileSync(cacheFile, 'utf8')) as CachedServerConfig;
    } catch {
      return null;
    }
  };
  let cached = readCache();

  /** Validates a server-side config; null plus an error when it does not. */
  const remoteInputs = (raw: unknown, accessKey: string): { inputs: InputsConfig | null; error: string } => {
    try {
      return { inputs: parseRemoteInputs(raw, accessKey), error: '' };
    } catch (err) {
      return { inputs: null, error: (err as Error).message };
    }
  };

  let remote: InputsConfig | null = null;
  if (cached) {
    const r = remoteInputs(cached.config, config.server.access_key);
    remote = r.inputs;
    serverVersion = cached.version;
  }
  // Local inputs must start: an error there is the operator's to fix now.
  const localErrors = await apply(inputSpecs(config.inputs, null));
  if (localErrors.length > 0) {
    for (const { input } of running.values()) await input.stop();
    await buffer.close();
    client.close();
    throw new ConfigError(localErrors, 'inputs');
  }
  serverError = (await apply(inputSpecs(config.inputs, remote))).join('\n');

  const onConfig = (update: ConfigUpdate) => {
    applying = applying.then(async () => {
      const version = Number(update.version);
      if (cached && update.found && cached.etag === update.etag && version === cached.version && !serverError) return;
      const raw = update.found ? (JSON.parse(update.configJson) as unknown) : {};
      const r = remoteInputs(raw, config.server.access_key);
      if (!r.inputs) {
        serverError = r.error;
        metrics.configErrors.inc();
        logger.error({ access_key: config.server.access_key, version, error: r.error }, 'the server-side config is not valid; keeping the previous one');
        return;
      }
      remote = r.inputs;
      const errors = await apply(inputSpecs(config.inputs, remote));
      serverError = errors.join('\n');
      if (errors.length > 0) {
        metrics.configErrors.inc();
        logger.error({ access_key: config.server.access_key, version, errors }, 'some inputs of the server-side config cannot run here');
      }
      serverVersion = update.found ? version : 0;
      metrics.configVersion.set(serverVersion);
      cached = { version: serverVersion, etag: update.etag, config: raw };
      writeFileAtomic(cacheFile, JSON.stringify(cached) + '\n');
      logger.info({ access_key: config.server.access_key, version: serverVersion, inputs: [...running.values()].map((r) => r.spec.name) }, 'applied the server-side config');
    });
  };
  const watch = new ConfigWatch({
    client,
    accessKey: config.server.access_key,
    identity,
    reconnectMinMs: config.server.reconnect_min,
    reconnectMaxMs: config.server.reconnect_max,
    onConfig,
    logger,
  });

  shipper.start();
  watch.start();
  const gauges = setInterval(() => {
    const s = buffer.stats();
    metrics.bufferBytes.set(s.bytes);
    metrics.bufferRecords.set(s.unackedRecords);
    metrics.shipLag.set(s.oldestUnackedMs / 1000);
  }, 1000);
  gauges.unref();

  let metricsServer: Server | null = null;
  if (config.metrics.listen) {
    try {
      metricsServer = await startMetricsServer(config.metrics.listen, metrics, () => ({
        ok: true,
        detail: { connected: shipper.connected, buffer: buffer.stats(), inputs: [...running.values()].map((r) => r.spec.name), config_version: serverVersion, config_error: serverError || null },
      }));
    } catch (err) {
      logger.error({ listen: config.metrics.listen, err: (err as Error).message }, 'cannot open the metrics listener');
    }
  }
  const address = metricsServer?.address();

  let closing: Promise<void> | null = null;
  return {
    agentId,
    metrics,
    buffer,
    shipper,
    inputs: () => [...running.values()].map((r) => r.spec.name),
    serverConfig: () => ({ version: serverVersion, error: serverError }),
    metricsAddress: address && typeof address === 'object' ? `${address.address}:${address.port}` : null,
    close() {
      closing ??= (async () => {
        watch.stop();
        await applying;
        for (const { input } of running.values()) await input.stop();
        running.clear();
        await buffer.sync();
        await shipper.stop();
        await buffer.close();
        clearInterval(gauges);
        client.close();
        await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      })();
      return closing;
    },
  };
}
