/**
 * Cairn's Prometheus metrics. One registry per server instance (tests run
 * several servers in one process); components receive it rather than using
 * prom-client's global.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  /** Records that reached the store, by source and tenant. */
  processed: Counter<'source' | 'tenant'>;
  /** Records or requests refused or dropped, by source, tenant and reason. */
  errors: Counter<'source' | 'tenant' | 'reason'>;
  /** Bytes received on the wire (before decompression), by source and tenant. */
  receivedBytes: Counter<'source' | 'tenant'>;
  /** Records whose timestamp was clamped, by source and tenant. */
  clamped: Counter<'source' | 'tenant'>;
  /** Records stored whole as their message because they did not parse, by source and tenant. */
  unparsed: Counter<'source' | 'tenant'>;
  /** Datagrams the kernel dropped on a UDP listener's socket (its receive buffer was full). */
  udpKernelDrops: Gauge<'source'>;
  commitSeconds: Histogram<never>;
  commitRecords: Histogram<never>;
  queueDepth: Gauge<never>;
  queueBytes: Gauge<never>;
  storeBytes: Gauge<never>;
  storeHeadRows: Gauge<never>;
  storeMemoryBytes: Gauge<never>;
  querySeconds: Histogram<'endpoint'>;
  /** Live message templates, by tenant. */
  templates: Gauge<'tenant'>;
  /** Templates evicted to stay under pipeline.templates.max_templates, by tenant. */
  templatesEvicted: Counter<'tenant'>;
  /** Open connections of socket-based sources, by source. */
  sourceConnections: Gauge<'source'>;
  /** Queries stopped before they finished: time limit, client gone. */
  queriesCancelled: Counter<'reason'>;
  /** Records into and out of each pipeline stage, and dropped by it. */
  pipelineRecords: Counter<'stage' | 'result'>;
  /** Records a pipeline stage dropped, by stage and reason (filter, sampled, ...). */
  pipelineDropped: Counter<'stage' | 'reason'>;
  /** Records a pipeline stage failed on (kept, with attrs.pipeline_error). */
  pipelineErrors: Counter<'stage'>;
  /** Time a stage takes for one batch. */
  pipelineStageSeconds: Histogram<'stage'>;
  /** Anomaly records emitted, by kind. */
  anomalies: Counter<'tenant' | 'kind'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    processed: new Counter({
      name: 'log_processed_total',
      help: 'Log records stored, by source and tenant.',
      labelNames: ['source', 'tenant'],
      registers,
    }),
    errors: new Counter({
      name: 'log_errors_total',
      help: 'Log records or requests refused or dropped, by source, tenant and reason.',
      labelNames: ['source', 'tenant', 'reason'],
      registers,
    }),
    receivedBytes: new Counter({
      name: 'log_received_bytes_total',
      help: 'Bytes received by ingest endpoints as sent (before decompression).',
      labelNames: ['source', 'tenant'],
      registers,
    }),
    clamped: new Counter({
      name: 'log_timestamps_clamped_total',
      help: 'Records whose timestamp was outside the accepted window and was replaced by the receipt time.',
      labelNames: ['source', 'tenant'],
      registers,
    }),
    unparsed: new Counter({
      name: 'log_unparsed_total',
      help: 'Records that did not parse and were stored whole as their message, with attrs.parse_error.',
      labelNames: ['source', 'tenant'],
      registers,
    }),
    udpKernelDrops: new Gauge({
      name: 'source_udp_kernel_drops',
      help: 'Datagrams the kernel dropped on a UDP listener because its receive buffer was full (from /proc/net/udp).',
      labelNames: ['source'],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'store_commit_seconds',
      help: 'Time to make one batch durable in the store.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    commitRecords: new Histogram({
      name: 'store_commit_records',
      help: 'Records per store commit.',
      buckets: [1, 10, 100, 1000, 5000, 10000, 20000, 50000],
      registers,
    }),
    queueDepth: new Gauge({ name: 'queue_depth_records', help: 'Records waiting for the store.', registers }),
    queueBytes: new Gauge({ name: 'queue_depth_bytes', help: 'Bytes of records waiting for the store.', registers }),
    storeBytes: new Gauge({ name: 'store_bytes', help: 'Bytes on disk used by the store.', registers }),
    storeHeadRows: new Gauge({ name: 'store_head_rows', help: 'Rows not yet compacted into segments.', registers }),
    storeMemoryBytes: new Gauge({ name: 'store_memory_bytes', help: "Memory held by the store engine (DuckDB's buffer manager).", registers }),
    querySeconds: new Histogram({
      name: 'query_seconds',
      help: 'Query latency by endpoint.',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    templates: new Gauge({ name: 'templates', help: 'Live message templates, by tenant.', labelNames: ['tenant'], registers }),
    templatesEvicted: new Counter({
      name: 'templates_evicted_total',
      help: 'Message templates evicted (least recently seen) to stay under pipeline.templates.max_templates, by tenant.',
      labelNames: ['tenant'],
      registers,
    }),
    sourceConnections: new Gauge({ name: 'source_connections', help: 'Open connections of socket-based sources.', labelNames: ['source'], registers }),
    queriesCancelled: new Counter({
      name: 'query_cancelled_total',
      help: 'Queries interrupted before they finished, by reason (timeout, client_gone).',
      labelNames: ['reason'],
      registers,
    }),
    pipelineRecords: new Counter({
      name: 'pipeline_records_total',
      help: 'Records into (result="in") and out of (result="out") each pipeline stage, and dropped by it (result="dropped").',
      labelNames: ['stage', 'result'],
      registers,
    }),
    pipelineDropped: new Counter({
      name: 'pipeline_dropped_total',
      help: 'Records a pipeline stage dropped, by stage and reason.',
      labelNames: ['stage', 'reason'],
      registers,
    }),
    pipelineErrors: new Counter({
      name: 'pipeline_errors_total',
      help: 'Records a pipeline stage failed on; they are kept with attrs.pipeline_error.',
      labelNames: ['stage'],
      registers,
    }),
    pipelineStageSeconds: new Histogram({
      name: 'pipeline_stage_seconds',
      help: 'Time a pipeline stage takes for one batch.',
      labelNames: ['stage'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    anomalies: new Counter({
      name: 'anomalies_total',
      help: 'Anomaly records emitted, by tenant and kind (new_template, rate_spike, rate_drop, error_share).',
      labelNames: ['tenant', 'kind'],
      registers,
    }),
  };
}
