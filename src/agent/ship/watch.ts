/**
 * Watches the server-side config of the agent's access key (WatchConfig):
 * the server sends it at once and again on every change; a broken watch is
 * opened again with backoff, and the current config comes first again, so a
 * change made while the agent was away arrives on reconnect.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../util/logger.ts';
import { callMetadata, type AgentClient, type ConfigUpdate, type Identity } from './client.ts';

export interface ConfigWatchOptions {
  client: AgentClient;
  accessKey: string;
  identity: () => Identity;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  onConfig: (update: ConfigUpdate) => void;
  logger: Logger;
}

export class ConfigWatch {
  private readonly opts: ConfigWatchOptions;
  private call: grpc.ClientReadableStream<ConfigUpdate> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoff: number;
  private running = false;
  private lastError = '';

  constructor(opts: ConfigWatchOptions) {
    this.opts = opts;
    this.backoff = opts.reconnectMinMs;
  }

  start(): void {
    this.running = true;
    this.open();
  }

  private open(): void {
    if (!this.running) return;
    const call = this.opts.client.WatchConfig({ accessKey: this.opts.accessKey }, callMetadata(this.opts.identity()));
    this.call = call;
    call.on('data', (update: ConfigUpdate) => {
      this.backoff = this.opts.reconnectMinMs;
      this.lastError = '';
      this.opts.onConfig(update);
    });
    const retry = (reason: string) => {
      if (call !== this.call) return;
      this.call = null;
      call.removeAllListeners('data');
      call.on('error', () => undefined);
      if (!this.running) return;
      if (reason !== this.lastError) this.opts.logger.warn({ reason, access_key: this.opts.accessKey }, 'config watch lost; watching again');
      this.lastError = reason;
      this.timer = setTimeout(() => this.open(), this.backoff * (0.8 + Math.random() * 0.4));
      this.backoff = Math.min(this.backoff * 2, this.opts.reconnectMaxMs);
    };
    call.on('error', (err: grpc.ServiceError) => retry(`${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`));
    call.on('end', () => retry('the server ended the watch'));
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    const call = this.call;
    this.call = null;
    if (call) {
      call.removeAllListeners();
      call.on('error', () => undefined);
      call.cancel();
    }
  }
}
