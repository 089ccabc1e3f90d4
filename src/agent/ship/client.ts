/**
 * The agent's gRPC client for cairn.agent.v1.AgentIngest (the same .proto as
 * the server). Stream requests are sent as bytes the shipper assembled from
 * the buffer (no re-encoding); responses are decoded with protobufjs.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { protoType } from '../../sources/grpc/proto.ts';
import type { BatchAck as WireBatchAck } from '../../sources/agent/index.ts';

const SERVICE = 'cairn.agent.v1.AgentIngest';
const BatchAck = protoType('cairn.agent.v1.BatchAck');
const ConfigRequest = protoType('cairn.agent.v1.AgentConfigRequest');
const ConfigResponse = protoType('cairn.agent.v1.AgentConfigResponse');

/** The server's BatchAck as protobufjs decodes it (an unknown status reads as UNSPECIFIED). */
export type Ack = Omit<WireBatchAck, 'status'> & { status: WireBatchAck['status'] | 'ACK_STATUS_UNSPECIFIED' };

export interface ConfigUpdate {
  accessKey: string;
  found: boolean;
  configJson: string;
  version: string;
  etag: string;
  updated: string;
}

const decodeAs = <T>(type: typeof BatchAck) => (bytes: Buffer) => type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: true }) as T;

const definition: grpc.ServiceDefinition = {
  Stream: {
    path: `/${SERVICE}/Stream`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (bytes: Buffer) => bytes,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (v: object) => Buffer.from(BatchAck.encode(BatchAck.fromObject(v)).finish()),
    responseDeserialize: decodeAs<Ack>(BatchAck),
  },
  WatchConfig: {
    path: `/${SERVICE}/WatchConfig`,
    requestStream: false,
    responseStream: true,
    requestSerialize: (v: object) => Buffer.from(ConfigRequest.encode(ConfigRequest.fromObject(v)).finish()),
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (v: object) => Buffer.from(ConfigResponse.encode(ConfigResponse.fromObject(v)).finish()),
    responseDeserialize: decodeAs<ConfigUpdate>(ConfigResponse),
  },
};

export type AgentClient = grpc.Client & {
  Stream(metadata: grpc.Metadata): grpc.ClientDuplexStream<Buffer, Ack>;
  WatchConfig(request: { accessKey: string }, metadata: grpc.Metadata): grpc.ClientReadableStream<ConfigUpdate>;
};

export interface ClientOptions {
  /** grpc://HOST:PORT or grpcs://HOST:PORT (http/https accepted). */
  url: string;
  /** PEM file of the CA to trust (TLS); null = the system's roots. */
  ca: string | null;
  serverName: string | null;
}

/** The target and credentials a server URL stands for. */
export function connectionOf(opts: ClientOptions): { target: string; tls: boolean; credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const u = new URL(opts.url);
  const tls = u.protocol === 'grpcs:' || u.protocol === 'https:';
  const port = u.port || (tls ? '443' : '4317');
  const target = `${u.hostname}:${port}`;
  let ca: Buffer | null = null;
  if (opts.ca) {
    try {
      ca = readFileSync(opts.ca);
    } catch (err) {
      throw new Error(`server.ca: ${(err as Error).message}`);
    }
  }
  const options: grpc.ChannelOptions = {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    // Long-lived streams across NATs and proxies; grpc-js servers accept pings this far apart.
    'grpc.keepalive_time_ms': 300_000,
    'grpc.keepalive_timeout_ms': 20_000,
    // The agent does its own reconnect backoff.
    'grpc.initial_reconnect_backoff_ms': 500,
    'grpc.max_reconnect_backoff_ms': 5000,
  };
  if (opts.serverName) options['grpc.ssl_target_name_override'] = opts.serverName;
  return { target, tls, credentials: tls ? grpc.credentials.createSsl(ca) : grpc.credentials.createInsecure(), options };
}

export function createAgentClient(opts: ClientOptions): AgentClient {
  const { target, credentials, options } = connectionOf(opts);
  const Ctor = grpc.makeGenericClientConstructor(definition, 'AgentIngest');
  return new Ctor(target, credentials, options) as unknown as AgentClient;
}

export interface Identity {
  token: string | null;
  agentId: string;
  hostname: string;
  version: string;
}

export function callMetadata(id: Identity): grpc.Metadata {
  const md = new grpc.Metadata();
  if (id.token) md.set('authorization', `Bearer ${id.token}`);
  md.set('x-cairn-agent-id', id.agentId);
  md.set('x-cairn-hostname', id.hostname);
  md.set('x-cairn-agent-version', id.version);
  return md;
}
