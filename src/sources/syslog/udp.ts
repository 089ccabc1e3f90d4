/**
 * Syslog over UDP (RFC 5426): one datagram is one message.
 *
 * Design note: UDP cannot push back, so the listener never waits: datagrams
 * are batched like a connection's frames and each batch is submitted without
 * holding up the next one. A batch the queue refuses is dropped and counted
 * (log_errors_total{reason="queue_full"|"rate_limited"}, by the Ingestor);
 * datagrams the kernel drops because the socket buffer overflowed are read
 * from /proc/net/udp and exported as source_udp_kernel_drops.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { nowNs } from '../../record/time.ts';
import type { Logger } from '../../util/logger.ts';
import type { IngestContext, Ingestor } from '../ingestor.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import { RecordBatcher, peerAddress } from './batch.ts';
import type { StreamOptions } from './stream.ts';

const DROPS_INTERVAL_MS = 5000;

export interface UdpDeps {
  ingestor: Ingestor;
  metrics: Metrics;
  logger: Logger;
  options: Omit<StreamOptions, 'idleTimeoutMs'> & { receiveBuffer: number };
}

export class UdpListener {
  private readonly socket: Socket;
  private readonly batcher: RecordBatcher;
  private readonly pending = new Set<Promise<void>>();
  private readonly host: string;
  private readonly port: number;
  private readonly metrics: Metrics;
  private readonly source: string;
  private dropsTimer: NodeJS.Timeout | null = null;

  constructor(host: string, port: number, ctx: IngestContext, deps: UdpDeps) {
    this.host = host;
    this.port = port;
    this.metrics = deps.metrics;
    this.source = ctx.source;
    const { ingestor, options } = deps;
    this.socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: options.receiveBuffer });
    this.batcher = new RecordBatcher(ingestor, deps.metrics, ctx, options, (records, bytes) => {
      const done = ingestor
        .submit(records, ctx, bytes)
        .catch((err: Error) => deps.logger.debug({ err: err.message, records: records.length }, 'syslog: UDP batch dropped'))
        .finally(() => this.pending.delete(done));
      this.pending.add(done);
    });
    this.socket.on('message', (datagram, rinfo) => {
      ingestor.received(ctx, datagram.length);
      if (datagram.length === 0) return;
      let frame = datagram;
      let truncated = false;
      if (datagram.length > options.maxMessageBytes) {
        if (options.oversize === 'reject') {
          ingestor.reject(ctx, 'line_too_long');
          return;
        }
        frame = datagram.subarray(0, options.maxMessageBytes);
        truncated = true;
      }
      this.batcher.add(frame, truncated, nowNs(), peerAddress(rinfo.address));
    });
    this.socket.on('error', (err) => deps.logger.error({ err }, 'syslog: UDP socket error'));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(this.port, this.host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    this.dropsTimer = setInterval(() => this.reportDrops(), DROPS_INTERVAL_MS).unref();
    return this.socket.address().port;
  }

  private reportDrops(): void {
    const drops = this.kernelDrops();
    if (drops !== undefined) this.metrics.udpKernelDrops.set({ source: this.source }, drops);
  }

  /** Datagrams the kernel dropped on this socket (receive buffer full), from /proc/net/udp; undefined off Linux. */
  kernelDrops(): number | undefined {
    const port = this.socket.address().port.toString(16).toUpperCase().padStart(4, '0');
    for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops
        if (cols[1]?.endsWith(`:${port}`) && cols.length >= 13) return Number(cols[12]);
      }
    }
    return undefined;
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.dropsTimer) clearInterval(this.dropsTimer);
    await new Promise<void>((r) => this.socket.close(() => r()));
    this.batcher.flush();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.pending]), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }
}
