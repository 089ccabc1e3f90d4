/**
 * The agent's own Prometheus metrics (its own registry: one process may hold
 * several agents in tests) and the local /metrics and /healthz listener.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { splitHostPort } from '../util/hostport.ts';

export interface AgentMetrics {
  registry: Registry;
  read: Counter<'input'>;
  inputLag: Gauge<'input'>;
  dropped: Counter<'reason'>;
  truncated: Counter<'input'>;
  rotations: Counter<'input' | 'kind'>;
  bufferBytes: Gauge<never>;
  bufferRecords: Gauge<never>;
  tornBytes: Counter<never>;
  sent: Counter<never>;
  duplicates: Counter<never>;
  failed: Counter<'reason'>;
  acks: Counter<'status'>;
  shipLag: Gauge<never>;
  connected: Gauge<never>;
  reconnects: Counter<never>;
  configVersion: Gauge<never>;
  configErrors: Counter<never>;
}

export function createAgentMetrics(): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cairn_agent_' });
  const registers = [registry];
  return {
    registry,
    read: new Counter({ name: 'cairn_agent_records_read_total', help: 'Records read by an input and written to the buffer.', labelNames: ['input'], registers }),
    inputLag: new Gauge({ name: 'cairn_agent_input_lag_seconds', help: 'How far an input is behind its source: time since unread data first waited (files) or age of the last entry read (journald, Windows); 0 when caught up.', labelNames: ['input'], registers }),
    dropped: new Counter({ name: 'cairn_agent_records_dropped_total', help: 'Records the agent dropped, by reason (buffer_full with drop_oldest, line_too_long with oversize_action drop).', labelNames: ['reason'], registers }),
    truncated: new Counter({ name: 'cairn_agent_lines_truncated_total', help: 'Lines cut to max_line_bytes (or max_field_bytes).', labelNames: ['input'], registers }),
    rotations: new Counter({ name: 'cairn_agent_file_rotations_total', help: 'Rotated files noticed, by kind (rename, truncate).', labelNames: ['input', 'kind'], registers }),
    bufferBytes: new Gauge({ name: 'cairn_agent_buffer_bytes', help: 'Bytes of the disk buffer.', registers }),
    bufferRecords: new Gauge({ name: 'cairn_agent_buffer_records', help: 'Records in the disk buffer not yet acknowledged by the server.', registers }),
    tornBytes: new Counter({ name: 'cairn_agent_buffer_torn_bytes_total', help: 'Bytes of torn or damaged buffer frames cut off (at startup, after a crash).', registers }),
    sent: new Counter({ name: 'cairn_agent_records_sent_total', help: 'Records the server acknowledged as stored.', registers }),
    duplicates: new Counter({ name: 'cairn_agent_records_duplicate_total', help: 'Records the server had stored already (resends after a restart or reconnect).', registers }),
    failed: new Counter({ name: 'cairn_agent_records_failed_total', help: 'Records not stored at a try, by reason: rejected (invalid, never resent), retry (server busy; resent), disconnected (in flight when the connection broke; resent).', labelNames: ['reason'], registers }),
    acks: new Counter({ name: 'cairn_agent_acks_total', help: 'Batch acknowledgements by status.', labelNames: ['status'], registers }),
    shipLag: new Gauge({ name: 'cairn_agent_ship_lag_seconds', help: 'Age of the oldest record in the buffer not yet acknowledged.', registers }),
    connected: new Gauge({ name: 'cairn_agent_connected', help: '1 while the ingest stream is open.', registers }),
    reconnects: new Counter({ name: 'cairn_agent_reconnects_total', help: 'Connections to the server opened after the first.', registers }),
    configVersion: new Gauge({ name: 'cairn_agent_config_version', help: 'Version of the applied server-side config (0: none).', registers }),
    configErrors: new Counter({ name: 'cairn_agent_config_errors_total', help: 'Server-side configs that could not be applied.', registers }),
  };
}

/** /metrics (Prometheus text) and /healthz on a local address. */
export async function startMetricsServer(listen: string, metrics: AgentMetrics, health: () => { ok: boolean; detail: object }): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
      return;
    }
    if (req.url === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: h.ok, ...h.detail }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  const { host, port } = splitHostPort(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
