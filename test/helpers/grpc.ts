/** grpc-js clients for Cairn's gRPC services (OTLP logs, the agent stream), built from the repo's .proto files. */
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../src/sources/grpc/registry.ts';
import { protoType } from '../../src/sources/grpc/proto.ts';
import type { BatchAck } from '../../src/sources/agent/index.ts';

export type AnyClient = grpc.Client & Record<string, (...args: any[]) => any>;

export function grpcClient(service: string, address: string, options: grpc.ChannelOptions = {}, creds = grpc.credentials.createInsecure()): AnyClient {
  const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(service), service);
  return new Ctor(address, creds, { 'grpc.max_send_message_length': 64 * 1024 * 1024, ...options }) as unknown as AnyClient;
}

export function metadata(values: Record<string, string>): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(values)) m.set(k, v);
  return m;
}

export function unary<T>(client: AnyClient, method: string, request: object, md = new grpc.Metadata()): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method]!(request, md, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

/** The RetryInfo delay (seconds) a status carries in grpc-status-details-bin, if any. */
export function retryDelaySeconds(err: grpc.ServiceError): number | undefined {
  const bin = err.metadata?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(bin)) return undefined;
  const status = protoType('google.rpc.Status').decode(bin) as unknown as { details: { type_url: string; value: Uint8Array }[] };
  const retry = status.details.find((d) => d.type_url === 'type.googleapis.com/google.rpc.RetryInfo');
  if (!retry) return undefined;
  const info = protoType('google.rpc.RetryInfo').decode(retry.value) as unknown as { retryDelay: { seconds: { toNumber(): number } | number } };
  const s = info.retryDelay.seconds;
  return typeof s === 'number' ? s : s.toNumber();
}

/** The server's acknowledgement, as the tests read it. */
export type Ack = BatchAck;

/** One agent ingest stream: send batches, wait for their acks, see how the stream ended. */
export class AgentStream {
  readonly acks: Ack[] = [];
  readonly call: grpc.ClientDuplexStream<object, Ack>;
  readonly ended: Promise<grpc.StatusObject>;
  private waiters: (() => void)[] = [];

  constructor(client: AnyClient, md: grpc.Metadata) {
    this.call = client.Stream!(md) as grpc.ClientDuplexStream<object, Ack>;
    this.call.on('data', (ack: Ack) => {
      this.acks.push(ack);
      for (const w of this.waiters.splice(0)) w();
    });
    this.ended = new Promise((resolve) => {
      this.call.on('error', () => undefined);
      this.call.on('status', (s: grpc.StatusObject) => {
        resolve(s);
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }

  send(batchId: number | string, records: object[], status?: object): void {
    this.call.write({ batchId: String(batchId), records, ...(status ? { status } : {}) });
  }

  /** Resolves with the ack of batchId (the latest one, if several). */
  async ack(batchId: number | string, timeoutMs = 15_000): Promise<Ack> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.acks.findLast((a) => a.batchId === String(batchId));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ack for batch ${batchId} within ${timeoutMs} ms (acks: ${JSON.stringify(this.acks.map((a) => a.batchId))})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200).unref();
      });
    }
  }

  close(): void {
    this.call.end();
  }
}
