/**
 * The agent protocol (proto/cairn/agent/v1/agent.proto, docs/protocols/agent-grpc.md)
 * on the shared gRPC server, and its HTTP side: agent status
 * (GET /api/v1/agents) and the per-access-key config API
 * (/api/v1/agents/configs/{access_key}).
 *
 * Design note on the stream: each RecordBatch is stored and acknowledged on its
 * own; up to max_in_flight_batches of one stream are stored at once, beyond
 * that the handler pauses the call, so grpc-js stops reading and HTTP/2 flow
 * control holds the agent back. A batch the queue or the tenant's rate limit
 * refuses is answered ACK_STATUS_RETRY with retry_after_ms (nothing stored);
 * a batch is acknowledged STORED only after ingestor.submit resolved, i.e. the
 * store committed it. A message that does not decode ends the stream with
 * INVALID_ARGUMENT (its batch id cannot be read, so it cannot be acked).
 */
import type * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authorize, authorizeToken, type Authenticator } from '../../api/auth.ts';
import { describeError } from '../../api/app.ts';
import { jsonBody } from '../../api/body.ts';
import { HttpError } from '../../api/errors.ts';
import type { LogRecord } from '../../record/record.ts';
import { int64ToBigInt } from '../../record/normalize/otlp.ts';
import { nowNs } from '../../record/time.ts';
import { byteLength, truncateUtf8 } from '../http/index.ts';
import type { IngestContext } from '../ingestor.ts';
import { grpcServices, serviceDefinition, type GrpcService, type GrpcServiceContext } from '../grpc/registry.ts';
import { UNKNOWN_TENANT, authorizeCall, grpcStatus, metadataText, tokenFromMetadata } from '../grpc/status.ts';
import { protoType } from '../grpc/proto.ts';
import { AgentRegistry, type AgentMeta, type AgentState } from './agents.ts';
import { ACCESS_KEY_PATTERN, AgentConfigError, AgentConfigStore, DEFAULT_ACCESS_KEY, type AgentConfigEntry } from './configs.ts';
import { recordFromAgent, seqOf, type AgentRecord } from './records.ts';

const MAX_REPORTED_ERRORS = 100;

interface DecodedBatch {
  batchId?: Parameters<typeof int64ToBigInt>[0];
  records?: AgentRecord[];
  status?: {
    backlogRecords?: unknown;
    backlogBytes?: unknown;
    lagMs?: unknown;
    droppedRecords?: unknown;
    configVersion?: unknown;
    configError?: string;
  } | null;
}

export interface BatchAck {
  batchId: string;
  status: 'ACK_STATUS_STORED' | 'ACK_STATUS_DUPLICATE' | 'ACK_STATUS_RETRY';
  accepted: number;
  rejected: number;
  errors: { index: number; reason: string }[];
  retryAfterMs: number;
  message: string;
  duplicates: number;
}

interface ConfigResponse {
  accessKey: string;
  found: boolean;
  configJson: string;
  version: number;
  etag: string;
  updated: string;
}

function configResponse(accessKey: string, entry: AgentConfigEntry | undefined): ConfigResponse {
  if (!entry) return { accessKey, found: false, configJson: '{}', version: 0, etag: '', updated: '' };
  return { accessKey, found: true, configJson: JSON.stringify(entry.config), version: entry.version, etag: entry.etag, updated: entry.updated };
}

/** Agent identity from metadata, cut to sane lengths (it is shown in the UI, never trusted for tenancy). */
function agentMeta(call: { metadata: grpc.Metadata; getPeer(): string }): AgentMeta & { agentId?: string } {
  return {
    agentId: metadataText(call.metadata, 'x-cairn-agent-id')?.slice(0, 128),
    hostname: metadataText(call.metadata, 'x-cairn-hostname')?.slice(0, 255),
    version: metadataText(call.metadata, 'x-cairn-agent-version')?.slice(0, 64),
    remote: call.getPeer(),
  };
}

function toNumber(v: unknown): number | null {
  const n = int64ToBigInt(v as Parameters<typeof int64ToBigInt>[0], false);
  return n === undefined ? null : Number(n);
}

export function createAgentService(ctx: GrpcServiceContext): GrpcService {
  const { config, ingestor, grpcAuth, auth } = ctx;
  const opts = config.sources.agent;
  const registry = new AgentRegistry(opts.max_agents, opts.dedup_window, opts.dedup_records);
  const configs = new AgentConfigStore(config.server.data_dir, opts.max_config_bytes);
  const RecordBatch = protoType('cairn.agent.v1.RecordBatch');
  const ConfigRequest = protoType('cairn.agent.v1.AgentConfigRequest');
  const maxLine = config.ingest.max_line_bytes;
  const retryAfterDefault = config.queue.retry_after_seconds;
  /** Open long-lived calls, ended cleanly at shutdown. */
  const open = new Set<() => Promise<void>>();
  let closing = false;

  registerHttpRoutes(ctx, auth, registry, configs);

  /** Stores one batch (or recognises it as a duplicate) and says what to answer; null for a heartbeat (no answer). */
  async function storeBatch(batch: DecodedBatch, state: AgentState, ictx: IngestContext, bytes: number): Promise<BatchAck | null> {
    const batchId = (int64ToBigInt(batch.batchId, true) ?? 0n).toString();
    const ack: BatchAck = { batchId, status: 'ACK_STATUS_STORED', accepted: 0, rejected: 0, errors: [], retryAfterMs: 0, message: '', duplicates: 0 };
    const records = batch.records ?? [];
    if (batch.status) {
      state.backlogRecords = toNumber(batch.status.backlogRecords);
      state.backlogBytes = toNumber(batch.status.backlogBytes);
      state.lagMs = toNumber(batch.status.lagMs);
      state.droppedRecords = toNumber(batch.status.droppedRecords);
      state.configVersion = toNumber(batch.status.configVersion);
      state.configError = batch.status.configError || null;
    }
    if (batchId === '0' && records.length === 0) return null;
    state.lastBatchId = batchId;
    // Batch id 0 (a client that does not number its batches) cannot be told
    // apart from another 0: such batches rely on record seqs alone.
    const byBatchId = batchId !== '0';
    const earlier = byBatchId ? state.inFlight(batchId) : undefined;
    if ((byBatchId && state.isCommitted(batchId)) || (earlier && (await earlier))) {
      state.duplicateBatches++;
      ingestor.reject(ictx, 'duplicate', records.length);
      return { ...ack, status: 'ACK_STATUS_DUPLICATE', message: `batch ${batchId} was already stored` };
    }
    // Records resent by a restarted agent come in new batches: they are recognised by their seq.
    const seqs = records.map(seqOf);
    const numbered = seqs.filter((q) => q > 0);
    let seqLo = Infinity;
    let seqHi = -Infinity;
    for (const q of numbered) {
      if (q < seqLo) seqLo = q;
      if (q > seqHi) seqHi = q;
    }
    if (numbered.length > 0) for (const first of state.seqsInFlight(seqLo, seqHi)) await first;
    const now = nowNs();
    const kept: LogRecord[] = [];
    const refuse = (index: number, reason: string, text: string) => {
      ack.rejected++;
      ingestor.reject(ictx, reason);
      if (ack.errors.length < MAX_REPORTED_ERRORS) ack.errors.push({ index, reason: text });
    };
    records.forEach((r, i) => {
      if (seqs[i]! > 0 && state.seqs.has(seqs[i]!)) {
        ack.duplicates++;
        return;
      }
      const result = recordFromAgent(r, ictx.tenant, now, config.ingest.keep_raw);
      if ('error' in result) return refuse(i, 'invalid_record', result.error);
      const record = result.record;
      if (byteLength(record.message, maxLine) > maxLine) {
        if (config.ingest.oversize_action === 'reject') return refuse(i, 'line_too_long', `message is longer than ${maxLine} bytes (ingest.max_line_bytes)`);
        record.message = truncateUtf8(record.message, maxLine);
        record.attrs.truncated = true;
        ingestor.reject(ictx, 'truncated');
      }
      const refused = ingestor.admit(record, ictx);
      if (refused) return refuse(i, refused, 'timestamp is outside the accepted window (ingest.max_future, ingest.max_past)');
      kept.push(record);
    });
    if (ack.duplicates > 0) {
      state.duplicateRecords += ack.duplicates;
      ingestor.reject(ictx, 'duplicate', ack.duplicates);
    }
    const stored = ingestor.submit(kept, ictx, bytes);
    const outcome = stored.then(() => true, () => false);
    if (byBatchId) state.track(batchId, outcome);
    if (numbered.length > 0) state.trackSeqs(seqLo, seqHi, outcome);
    try {
      await stored;
    } catch (err) {
      const d = describeError(err, retryAfterDefault);
      const seconds = Number(d.headers['retry-after'] ?? retryAfterDefault);
      state.retriedBatches++;
      return { ...ack, status: 'ACK_STATUS_RETRY', accepted: 0, retryAfterMs: seconds * 1000, message: d.message };
    }
    state.commit(batchId);
    state.seqs.addAll(numbered);
    state.batches++;
    state.recordsAccepted += kept.length;
    state.recordsRejected += ack.rejected;
    return { ...ack, accepted: kept.length };
  }

  function Stream(call: grpc.ServerDuplexStream<Buffer, BatchAck>): void {
    const fail = (err: Partial<grpc.StatusObject>): void => {
      call.emit('error', err);
    };
    if (closing) return fail(grpcStatus(Status.UNAVAILABLE, 'the server is shutting down; reconnect later'));
    const authz = authorizeCall(grpcAuth, call.metadata, 'ingest');
    if ('error' in authz) {
      ingestor.reject({ source: 'agent', tenant: UNKNOWN_TENANT }, authz.reason);
      return fail(authz.error);
    }
    const meta = agentMeta(call);
    if (!meta.agentId) return fail(grpcStatus(Status.INVALID_ARGUMENT, 'the x-cairn-agent-id metadata is required: a stable id of this agent installation'));
    const token = tokenFromMetadata(call.metadata);
    const ictx: IngestContext = { source: 'agent', tenant: authz.principal.tenant };
    const state = registry.touch(ictx.tenant, meta.agentId, meta);
    state.streams++;
    let inFlight = 0;
    let readerDone = false;
    let failed = false;
    let idle: (() => void) | null = null;

    const finish = () => {
      if (inFlight > 0) return;
      idle?.();
      if (readerDone && !failed) call.end();
    };
    // A call ended with an error may never emit 'close' (its reading side is still open), so the
    // bookkeeping is released on whichever comes first.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      open.delete(drain);
      state.streams--;
    };
    const stopWith = (err: Partial<grpc.StatusObject>) => {
      if (failed) return;
      failed = true;
      call.pause();
      fail(err);
      release();
    };
    const drain = () =>
      new Promise<void>((resolve) => {
        call.pause();
        idle = resolve;
        if (inFlight === 0) resolve();
      }).then(() => stopWith(grpcStatus(Status.UNAVAILABLE, 'the server is shutting down; reconnect and resend unacknowledged batches')));
    open.add(drain);
    call.once('close', release);
    call.once('cancelled', release);
    call.on('error', () => undefined); // a client that resets the stream is not a server error

    call.on('data', (bytes: Buffer) => {
      if (failed) return;
      // A token revoked while the stream is open stops it at the next batch.
      const still = authorizeToken(grpcAuth, token, 'ingest');
      if (!still.ok) return stopWith(grpcStatus(still.denied === 'forbidden' ? Status.PERMISSION_DENIED : Status.UNAUTHENTICATED, still.message));
      ingestor.received(ictx, bytes.length);
      let batch: DecodedBatch;
      try {
        batch = RecordBatch.decode(bytes) as DecodedBatch;
      } catch (err) {
        ingestor.reject(ictx, 'invalid_protobuf');
        return stopWith(grpcStatus(Status.INVALID_ARGUMENT, `a message is not a valid cairn.agent.v1.RecordBatch: ${(err as Error).message}`));
      }
      registry.touch(ictx.tenant, meta.agentId!, meta);
      inFlight++;
      if (inFlight >= opts.max_in_flight_batches) call.pause();
      storeBatch(batch, state, ictx, bytes.length)
        .then(
          (ack) => {
            if (ack && !failed) call.write(ack);
          },
          (err: unknown) => stopWith(grpcStatus(Status.INTERNAL, (err as Error).message)),
        )
        .finally(() => {
          inFlight--;
          if (!failed && !closing && inFlight < opts.max_in_flight_batches) call.resume();
          finish();
        });
    });
    call.on('end', () => {
      readerDone = true;
      finish();
    });
  }

  function AgentConfig(call: grpc.ServerUnaryCall<Buffer, ConfigResponse>, callback: grpc.sendUnaryData<ConfigResponse>): void {
    const resolved = resolveConfigCall(call);
    if ('error' in resolved) return callback(resolved.error);
    callback(null, configResponse(resolved.key, configs.get(resolved.tenant, resolved.key)));
  }

  function WatchConfig(call: grpc.ServerWritableStream<Buffer, ConfigResponse>): void {
    const fail = (err: Partial<grpc.StatusObject>): void => {
      call.emit('error', err);
    };
    if (closing) return fail(grpcStatus(Status.UNAVAILABLE, 'the server is shutting down; reconnect later'));
    const resolved = resolveConfigCall(call);
    if ('error' in resolved) return fail(resolved.error);
    const { tenant, key } = resolved;
    call.write(configResponse(key, configs.get(tenant, key)));
    const unwatch = configs.watch(tenant, key, (entry) => call.write(configResponse(key, entry)));
    const end = async () => {
      unwatch();
      fail(grpcStatus(Status.UNAVAILABLE, 'the server is shutting down; watch again after reconnecting'));
    };
    open.add(end);
    call.once('close', () => {
      open.delete(end);
      unwatch();
    });
    call.on('cancelled', unwatch);
  }

  /** Authorizes a config call and reads its access key (the tenant is the token's). */
  function resolveConfigCall(call: grpc.ServerUnaryCall<Buffer, unknown> | grpc.ServerWritableStream<Buffer, unknown>): { tenant: string; key: string } | { error: Partial<grpc.StatusObject> } {
    const authz = authorizeCall(grpcAuth, call.metadata, 'ingest');
    if ('error' in authz) {
      ingestor.reject({ source: 'agent', tenant: UNKNOWN_TENANT }, authz.reason);
      return { error: authz.error };
    }
    let key: string;
    try {
      key = (ConfigRequest.decode(call.request) as { accessKey?: string }).accessKey || DEFAULT_ACCESS_KEY;
    } catch (err) {
      return { error: grpcStatus(Status.INVALID_ARGUMENT, `not a valid cairn.agent.v1.AgentConfigRequest: ${(err as Error).message}`) };
    }
    if (!ACCESS_KEY_PATTERN.test(key)) return { error: grpcStatus(Status.INVALID_ARGUMENT, `access_key "${key.slice(0, 80)}" is not valid (letters, digits, ".", "_", "-"; at most 63)`) };
    const meta = agentMeta(call);
    if (meta.agentId) registry.touch(authz.principal.tenant, meta.agentId, { ...meta, accessKey: key });
    return { tenant: authz.principal.tenant, key };
  }

  return {
    definition: serviceDefinition('cairn.agent.v1.AgentIngest'),
    implementation: { Stream, AgentConfig, WatchConfig },
    async stop() {
      closing = true;
      await Promise.all([...open].map((end) => end()));
      configs.close();
    },
  };
}

function registerHttpRoutes(ctx: GrpcServiceContext, auth: Authenticator, registry: AgentRegistry, configs: AgentConfigStore): void {
  const app = ctx.http;
  const keyParam = (req: FastifyRequest) => {
    const key = (req.params as { key: string }).key;
    if (!ACCESS_KEY_PATTERN.test(key)) throw new HttpError(400, 'invalid_parameter', `access key "${key.slice(0, 80)}" is not valid (letters, digits, ".", "_", "-"; at most 63)`);
    return key;
  };
  const entryJson = (key: string, entry: AgentConfigEntry) => ({ access_key: key, ...entry });

  app.get('/api/v1/agents', async (req) => {
    const principal = authorize(auth, req, 'read');
    return { agents: registry.list(principal.tenant) };
  });
  app.get('/api/v1/agents/configs', async (req) => {
    const principal = authorize(auth, req, 'admin');
    return { configs: configs.list(principal.tenant).map(({ tenant: _tenant, ...rest }) => rest) };
  });
  app.get('/api/v1/agents/configs/:key', async (req) => {
    const principal = authorize(auth, req, 'admin');
    const key = keyParam(req);
    const entry = configs.get(principal.tenant, key);
    if (!entry) throw new HttpError(404, 'not_found', `no agent config for access key "${key}"`);
    return entryJson(key, entry);
  });
  app.put('/api/v1/agents/configs/:key', async (req) => {
    const principal = authorize(auth, req, 'admin');
    const key = keyParam(req);
    const body = await jsonBody(req, ctx.config.sources.agent.max_config_bytes);
    try {
      return entryJson(key, configs.set(principal.tenant, key, body));
    } catch (err) {
      if (err instanceof AgentConfigError) throw new HttpError(400, 'invalid_config', err.message);
      throw err;
    }
  });
  app.delete('/api/v1/agents/configs/:key', async (req, reply: FastifyReply) => {
    const principal = authorize(auth, req, 'admin');
    const key = keyParam(req);
    if (!configs.delete(principal.tenant, key)) throw new HttpError(404, 'not_found', `no agent config for access key "${key}"`);
    return reply.code(204).send();
  });
}

grpcServices.register('agent', createAgentService);
