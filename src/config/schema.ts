/**
 * The configuration schema: every key Cairn reads, its default and its check.
 * Unknown keys are errors (a typo must not silently fall back to a default).
 * Durations and sizes are written as text (`30s`, `16MiB`) and parsed here, so
 * the rest of the code sees milliseconds and bytes.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { OS_VALUES } from '../record/record.ts';

export { byteSize, cidr, duration, hostPort, parseCidr, tenantName, TENANT_PATTERN } from './fields.ts';
import { byteSize, cidr, duration, hostPort, tenantName } from './fields.ts';

const forwardSource = z
  .strictObject({
    listen: hostPort().nullable().default(null).describe('Plain TCP listener, HOST:PORT (24224 is the usual port); null = off.'),
    tls_listen: hostPort().nullable().default(null).describe('TLS listener, HOST:PORT; needs tls_cert and tls_key; null = off.'),
    tls_cert: z.string().min(1).nullable().default(null).describe('PEM certificate chain file of the TLS listener.'),
    tls_key: z.string().min(1).nullable().default(null).describe('PEM private key file of the TLS listener.'),
    tls_ca: z.string().min(1).nullable().default(null).describe('PEM file of the CA that signs client certificates; set it to map client certificates to tenants.'),
    shared_keys: z
      .array(z.strictObject({ key: z.string().min(1), tenant: tenantName() }))
      .default([])
      .describe('Handshake shared keys, `[{key, tenant}]`: the key a client proves decides its tenant. With any key set, every connection without a mapped client certificate must do the handshake.'),
    client_cert_tenants: z
      .array(
        z
          .strictObject({ cn: z.string().min(1).optional(), fingerprint: z.string().min(1).optional(), tenant: tenantName() })
          .refine((e) => (e.cn === undefined) !== (e.fingerprint === undefined), { message: 'give exactly one of cn or fingerprint' }),
      )
      .default([])
      .describe('TLS client certificates verified against tls_ca, by subject CN or SHA-256 fingerprint, `[{cn | fingerprint, tenant}]`.'),
    require_auth: z
      .boolean()
      .nullable()
      .default(null)
      .describe('Whether connections must authenticate (shared key or client certificate). null: yes, except in open local mode on a loopback listener. false: every unauthenticated connection belongs to `tenant`.'),
    tenant: tenantName().nullable().default(null).describe('Tenant of unauthenticated connections when require_auth is false; null = auth.open_tenant.'),
    self_hostname: z.string().min(1).nullable().default(null).describe("Server name in the handshake's PONG; null = this machine's hostname."),
    tag_field: z.enum(['unit', 'service', 'attr']).default('unit').describe('Where the event tag goes when the record does not name it: the unit, the service, or attrs.tag.'),
    max_message_bytes: byteSize().prefault('32MiB').describe('Largest forward message (one msgpack frame), and largest decompressed CompressedPackedForward entries.'),
    max_records_per_message: z.number().int().positive().default(200_000).describe('Most events in one message (or one msgpack body on /api/v1/fluent).'),
    max_connections: z.number().int().positive().default(1000).describe('Open forward connections at most, TCP and TLS together; further ones are closed at once.'),
    idle_timeout: duration().prefault('5m').describe('A connection that sends nothing for this long is closed.'),
    message_timeout: duration().prefault('60s').describe('A message must arrive completely within this long of its first byte (slow senders are cut off); also the TLS handshake timeout.'),
    udp_heartbeat: z.boolean().default(false).describe("Answer Fluentd's UDP heartbeat (heartbeat_type udp) on the port of `listen`."),
  })
  .superRefine((f, ctx) => {
    if (f.tls_listen && (!f.tls_cert || !f.tls_key)) {
      ctx.addIssue({ code: 'custom', path: ['tls_listen'], message: 'a TLS listener needs tls_cert and tls_key' });
    }
    if (f.client_cert_tenants.length > 0 && !f.tls_ca) {
      ctx.addIssue({ code: 'custom', path: ['client_cert_tenants'], message: 'client certificates are verified against tls_ca: set it' });
    }
    const keys = new Set<string>();
    f.shared_keys.forEach((k, i) => {
      if (keys.has(k.key)) ctx.addIssue({ code: 'custom', path: ['shared_keys', i, 'key'], message: 'the same shared key is listed twice' });
      keys.add(k.key);
    });
    if (f.require_auth === false && f.shared_keys.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['require_auth'], message: 'with shared_keys every connection does the handshake; remove require_auth: false or the keys' });
    }
  });
const stringList = () => z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      listen: hostPort().default('127.0.0.1:7480').describe('Where the HTTP API, ingest endpoints and UI listen.'),
      data_dir: z.string().min(1).default('./data').describe('Everything Cairn keeps: the store, tokens, state.'),
      shutdown_timeout: duration().prefault('10s').describe('Time allowed for in-flight requests and the queue to drain at shutdown.'),
    })
    .prefault({}),
  auth: z
    .strictObject({
      mode: z.enum(['auto', 'token', 'open']).default('auto').describe('token: every request needs a token. open: no tokens, everything is the `open_tenant` (allowed only on a loopback address). auto: open on loopback, token otherwise.'),
      open_tenant: tenantName().default('default').describe('The tenant of everything in open mode.'),
      trusted_proxy: z
        .array(
          z.string().refine((v) => isIP(v.split('/')[0]!) !== 0 && (!v.includes('/') || /^\d{1,3}$/.test(v.split('/')[1]!)), {
            message: 'expected an IP address or CIDR such as 10.0.0.5 or 10.0.0.0/8',
          }),
        )
        .default([])
        .describe('Addresses (IPs or CIDRs) of reverse proxies allowed to choose the tenant of a Loki API request with X-Scope-OrgID; from anywhere else that header may only repeat the caller\'s own tenant.'),
    })
    .prefault({}),
  ingest: z
    .strictObject({
      max_line_bytes: byteSize().prefault('256KiB').describe('Largest accepted line/record (bytes of its JSON or text).'),
      oversize_action: z.enum(['reject', 'truncate']).default('reject').describe('What to do with a longer line: reject it, or cut it and mark it `truncated`.'),
      max_body_bytes: byteSize().prefault('32MiB').describe('Largest request body after decompression (413 above).'),
      max_future: duration().prefault('1h').describe('Timestamps further ahead than this are clock skew.'),
      max_past: duration().prefault('0s').describe('Timestamps older than this are refused or clamped; 0 accepts any age (imports of old logs).'),
      timestamp_action: z.enum(['reject', 'clamp']).default('clamp').describe('reject: the line is an error; clamp: ts becomes the receipt time, the original is kept in attrs.original_ts.'),
      keep_raw: z.boolean().default(false).describe('Keep the original line in `raw`.'),
      tenant_rate_limit: z.number().min(0).default(0).describe('Records per second a tenant may send, summed over all sources; 0 is no limit.'),
      tenant_burst: z.number().int().min(0).default(0).describe('Records a tenant may send at once above its rate (the bucket size); 0 means one second\'s worth.'),
    })
    .prefault({}),
  sources: z
    .strictObject({
      grpc: z
        .strictObject({
          listen: hostPort().nullable().default(null).describe('HOST:PORT of the shared gRPC server (OTLP/gRPC, the agent stream); null = no gRPC server.'),
          tls: z
            .strictObject({
              cert: z.string().min(1).describe('PEM certificate chain file.'),
              key: z.string().min(1).describe('PEM private key file.'),
            })
            .nullable()
            .default(null)
            .describe('TLS for the gRPC listener: `{cert, key}`, paths of PEM files (certificate chain, private key); null = plaintext HTTP/2.'),
          max_message_bytes: byteSize().prefault('16MiB').describe('Largest gRPC message (after decompression); larger ones fail with RESOURCE_EXHAUSTED.'),
          max_connections: z.number().int().positive().default(1024).describe('Open gRPC connections at most; further ones are closed at once.'),
          max_concurrent_streams: z.number().int().positive().default(100).describe('Concurrent calls per gRPC connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).'),
        })
        .prefault({})
        .describe('The shared gRPC server: docs/protocols/otlp.md, docs/protocols/agent-grpc.md.'),
      agent: z
        .strictObject({
          dedup_window: z.number().int().positive().default(256).describe('Committed batch ids remembered per agent, so a batch resent after a reconnect is not stored twice.'),
          dedup_records: z.number().int().positive().default(10_000_000).describe('Record seqs remembered per agent (below its highest stored seq), so records a restarted agent resends are not stored twice.'),
          max_agents: z.number().int().positive().default(10_000).describe('Agents whose status and dedup window are kept; the least recently seen is forgotten first.'),
          max_in_flight_batches: z.number().int().positive().default(8).describe('Batches of one agent stream being stored at once; beyond, the server stops reading the stream.'),
          max_config_bytes: byteSize().prefault('1MiB').describe('Largest agent config (JSON text).'),
        })
        .prefault({})
        .describe('The agent stream (cairn.agent.v1.AgentIngest): docs/protocols/agent-grpc.md.'),
      forward: forwardSource.prefault({}).describe('Fluentd forward protocol (Fluent Bit `forward`, Fluentd `out_forward`): docs/protocols/forward.md.'),
      loki: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Serve POST /loki/api/v1/push on the main listener.'),
          max_labels: z.number().int().positive().default(64).describe('Stream labels plus structured metadata pairs of one entry, at most (400 above).'),
        })
        .prefault({})
        .describe('Loki push API (Promtail, Alloy, Loki clients): docs/protocols/loki-push.md.'),
      elastic: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Serve the Elasticsearch-compatible API on the main listener.'),
          path_prefix: z
            .string()
            .regex(/^(?:\/[A-Za-z0-9._~-]+)*$/, 'expected "" or a path such as /es (no trailing slash)')
            .default('')
            .describe('Where the API is mounted: "" is the root (what shippers expect by default), or a prefix such as /es (then set the path in the shipper\'s URL).'),
          version: z
            .string()
            .regex(/^\d+\.\d+\.\d+$/, 'expected a version such as 8.17.0')
            .default('8.17.0')
            .describe('version.number answered by GET /: Beats, Logstash and Vector choose their behaviour by it.'),
          max_actions: z.number().int().positive().default(100_000).describe('Actions in one _bulk request, at most (413 above, so Beats split the batch).'),
        })
        .prefault({})
        .describe('Elasticsearch _bulk and handshake endpoints (Beats, Logstash, Vector, Fluent Bit): docs/protocols/elasticsearch.md.'),
      journald: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Serve POST /upload (systemd-journal-upload) on the main listener.'),
          tenant: tenantName()
            .nullable()
            .default(null)
            .describe('Tenant of uploads on the main listener that carry no token (systemd-journal-upload cannot send one), from trusted_networks; null: such uploads need open local mode.'),
          trusted_networks: z.array(cidr()).default(['127.0.0.0/8', '::1/128']).describe('Networks (CIDR) allowed to upload as `tenant` without a token.'),
          max_entry_bytes: byteSize().prefault('1MiB').describe('An entry larger than this (all fields) is refused and counted; the upload goes on.'),
          max_fields: z.number().int().positive().default(1024).describe('Fields in one entry, at most (journald\'s own limit is 1024).'),
          batch_entries: z.number().int().positive().default(2000).describe('Entries handed to the store at a time while an upload streams in.'),
          backpressure_timeout: duration().prefault('60s').describe('How long an upload may stall on a full queue or the tenant\'s rate (the body is not read meanwhile) before it is refused with 429.'),
          listen: hostPort()
            .nullable()
            .default(null)
            .describe('HOST:PORT of a plain HTTP listener of its own (systemd uses port 19532), without the main listener\'s request time limit: a first upload can be a long backlog; null = none.'),
          tls_listen: hostPort().nullable().default(null).describe('HOST:PORT of an HTTPS listener for uploads with client certificates (what systemd-journal-upload authenticates with); null = none.'),
          tls_cert: z.string().min(1).nullable().default(null).describe('PEM certificate chain file of the HTTPS listener.'),
          tls_key: z.string().min(1).nullable().default(null).describe('PEM private key file of the HTTPS listener.'),
          tls_client_ca: z.string().min(1).nullable().default(null).describe('PEM file of the CA(s) that sign client certificates; others fail the handshake.'),
          tls_tenants: z.record(z.string().min(1), tenantName()).default({}).describe('Client certificate subject CN → tenant.'),
          tls_default_tenant: tenantName().nullable().default(null).describe('Tenant of a valid client certificate whose CN is not in tls_tenants; null refuses it (403).'),
          max_connections: z.number().int().positive().default(1024).describe('Open connections on each of the listeners of its own (listen, tls_listen), at most.'),
        })
        .prefault({})
        .superRefine((j, ctx) => {
          if (j.tls_listen !== null && (j.tls_cert === null || j.tls_key === null || j.tls_client_ca === null)) {
            ctx.addIssue({ code: 'custom', path: ['tls_listen'], message: 'tls_listen needs tls_cert, tls_key and tls_client_ca' });
          }
        })
        .describe('systemd-journal-upload target (the systemd-journal-remote protocol): docs/protocols/journald-upload.md.'),
      syslog: z
        .strictObject({
          udp: hostPort().nullable().default(null).describe('Syslog over UDP (RFC 5426): listen address, null = off. Ports below 1024 need root or CAP_NET_BIND_SERVICE.'),
          tcp: hostPort().nullable().default(null).describe('Syslog over TCP, newline or octet-counted framing (RFC 6587): listen address, null = off.'),
          tls: hostPort().nullable().default(null).describe('Syslog over TLS (RFC 5425; the registered port is 6514): listen address, null = off. Needs tls_cert and tls_key.'),
          tls_cert: z.string().min(1).nullable().default(null).describe('PEM file: the TLS listener\'s certificate chain.'),
          tls_key: z.string().min(1).nullable().default(null).describe('PEM file: the key of tls_cert.'),
          tls_ca: z.string().min(1).nullable().default(null).describe('PEM CA bundle: when set, TLS clients must present a certificate it signed.'),
          client_cert_tenants: z.record(z.string().min(1), tenantName()).default({}).describe('Client certificate name (a subjectAltName entry, else the subject CN) → tenant.'),
          tenant: tenantName().nullable().default(null).describe('Tenant of everything received without a mapped client certificate (syslog has no credentials). Required in token mode and on non-loopback listeners; otherwise auth.open_tenant.'),
          os: z.enum(OS_VALUES).default('linux').describe('`os` of the records (syslog does not say).'),
          max_message_bytes: byteSize().nullable().default(null).describe('Largest message; null = ingest.max_line_bytes. Longer ones follow ingest.oversize_action.'),
          max_connections: z.number().int().positive().default(1024).describe('Open TCP/TLS connections per listener, at most; more are closed at once.'),
          idle_timeout: duration().prefault('1h').describe('A TCP/TLS connection silent this long is closed; 0 never.'),
          batch_records: z.number().int().positive().default(2000).describe('A connection\'s (or the UDP listener\'s) records are stored in batches of this many...'),
          batch_linger_ms: z.number().int().min(0).default(200).describe('...or this many milliseconds after the first one.'),
          udp_receive_buffer: byteSize().prefault('4MiB').describe('SO_RCVBUF of the UDP socket: room for bursts (the kernel caps it at net.core.rmem_max).'),
        })
        .prefault({})
        .describe('Syslog: RFC 3164 and RFC 5424 over UDP, TCP and TLS (see protocols/syslog.md).'),
    })
    .prefault({})
    .describe('Listeners and options of each ingest protocol (see docs/protocols/).'),
  queue: z
    .strictObject({
      type: z.enum(['memory']).default('memory').describe('Queue between ingest and the store: memory (in-process, bounded).'),
      max_records: z.number().int().positive().default(100_000).describe('Records waiting for the store, at most; senders get 429 beyond.'),
      max_bytes: byteSize().prefault('64MiB').describe('Bytes of records waiting for the store, at most.'),
      batch_records: z.number().int().positive().default(8_192).describe('Records merged into one store commit, at most.'),
      retry_after_seconds: z.number().int().positive().default(1).describe('Seconds a sender is told to wait when the queue is full.'),
    })
    .prefault({}),
  store: z
    .strictObject({
      type: z.enum(['duckdb']).default('duckdb').describe('Store backend: duckdb (embedded: DuckDB heads + Parquet segments).'),
      duckdb: z
        .strictObject({
          memory_limit: byteSize().prefault('512MiB').describe('DuckDB\'s memory limit (buffer pool); the process needs some more.'),
          threads: z.number().int().min(0).default(0).describe('DuckDB worker threads; 0 = one per core.'),
          head_max_rows: z.number().int().positive().default(250_000).describe('A head table is sealed and compacted after this many rows...'),
          head_max_age: duration().prefault('60s').describe('...or this long after its first row.'),
          segment_zstd_level: z.number().int().min(1).max(22).default(6).describe('zstd level of Parquet segments (1-22).'),
          segment_row_group_rows: z.number().int().positive().default(122_880).describe('Rows per Parquet row group: the unit of pruning inside a segment.'),
          merge_max_rows: z.number().int().positive().default(250_000).describe('Segments of one tenant and day smaller than this are merged (up to this size); the default, one full head, leaves segments of full heads alone.'),
          merge_min_segments: z.number().int().min(2).default(8).describe('Merge once a tenant and day has this many small segments.'),
        })
        .prefault({}),
    })
    .prefault({}),
  query: z
    .strictObject({
      default_limit: z.number().int().positive().default(100).describe('Records a search returns when `limit` is not given.'),
      max_limit: z.number().int().positive().default(10_000).describe('Largest `limit` a search accepts (400 above).'),
      timeout: duration().prefault('30s').describe('A query running longer is cancelled and answered with 503.'),
      default_range: duration().prefault('1h').describe('Default range when `from` is not given.'),
      max_series: z.number().int().positive().default(1000).describe('Series a metric query (and /series) may produce, at most.'),
      post_filter_max_rows: z.number().int().positive().default(1_000_000).describe('Rows a query may read to filter or count in process (LogQL stages the store cannot run).'),
      max_concurrent_per_tenant: z.number().int().positive().default(8).describe('Queries one tenant may run at once; more get 429.'),
      tail_buffer: z.number().int().positive().default(1000).describe('Records waiting for one slow live-tail client; beyond, records are dropped and counted.'),
      max_tail_clients: z.number().int().positive().default(32).describe('Live-tail connections per tenant; more get 429.'),
    })
    .prefault({}),
  pipeline: z
    .strictObject({
      templates: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Mine every record\'s message into `template_id` (patterns.md).'),
          max_templates: z.number().int().positive().default(10_000).describe('Templates kept per tenant; the least recently seen are evicted beyond.'),
          max_message_chars: z.number().int().positive().default(2048).describe('Messages are mined on their first this many characters...'),
          max_tokens: z.number().int().min(2).default(64).describe('...and first this many tokens (the rest of a longer message is one variable).'),
          snapshot_interval: duration().prefault('30s').describe('Time between snapshots of the templates to `<data_dir>/templates` (and one at shutdown).'),
        })
        .prefault({}),
      stages: z
        .record(
          z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, 'a stage name is letters, digits, "_" and "-", starting with a letter'),
          z.looseObject({ type: z.string().describe('filter, enrich, parse, redact or templates.') }),
        )
        .default({})
        .describe('Named stages: `name: {type: filter|enrich|parse|redact|templates, ...options}` (pipeline.md). `templates` exists without being named here while pipeline.templates.enabled.'),
      routes: z
        .array(
          z.strictObject({
            match: z
              .strictObject({
                tenant: stringList().optional(),
                source: stringList().optional(),
                service: stringList().optional(),
                os: stringList().optional(),
              })
              .prefault({})
              .describe('Which records take this route: tenant, source, service, os; each a value, a glob with `*`, or a list of them; absent matches anything.'),
            stages: z.array(z.string()).describe('Stage names, run in this order.'),
          }),
        )
        .default([])
        .describe('Routes, tried in order; a record takes the first that matches, and one that matches none is stored as it came. Empty: one route with every stage of `stages` in the order written, then `templates`.'),
      anomalies: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Learn rate baselines per template and service and emit anomaly records (pipeline.md).'),
          bucket: duration().prefault('1m').describe('Width of a rate bucket.'),
          alpha: z.number().gt(0).lt(1).default(0.1).describe('EWMA weight of the newest bucket in the baseline (mean and variance).'),
          z_threshold: z.number().positive().default(4).describe('|z| of a bucket against the baseline that flags a rate spike or drop.'),
          min_volume: z.number().int().positive().default(20).describe('A spike or drop is flagged only when the observed or expected count per bucket reaches this.'),
          warmup_buckets: z.number().int().positive().default(15).describe('Buckets a baseline learns before it may flag anything.'),
          error_share_jump: z.number().gt(0).max(1).default(0.25).describe('Flag a service whose share of error records (err or worse) rises this much above its baseline.'),
          new_template_lookback: duration().prefault('7d').describe('A template not seen for this long is new again.'),
          learning_period: duration().prefault('1h').describe('A tenant\'s new templates are learned silently for this long after its first record (else a fresh start flags every template).'),
          max_new_templates_per_bucket: z.number().int().positive().default(20).describe('new_template anomalies per tenant and bucket at most; the rest are summed into one.'),
          cooldown: duration().prefault('10m').describe('After flagging a key, the same kind is not flagged again for it for this long.'),
          max_keys: z.number().int().positive().default(50_000).describe('Baselines (template or service) kept per tenant; the least recently seen are dropped beyond.'),
          state_interval: duration().prefault('1m').describe('Time between saves of the learned state (baselines, when each template was last seen) to `<data_dir>/anomaly`.'),
        })
        .prefault({})
        .describe('Anomaly detection: rate spikes and drops, new templates, error-share jumps; anomalies are records (source `anomaly`).'),
      related: z
        .strictObject({
          window: duration().prefault('1h').describe('GET /api/v1/related: records sharing the trace or correlation id are looked for this long before and after the record.'),
          host_window: duration().prefault('30s').describe('...and records of the same host this long before and after (the `window` parameter, in seconds, overrides it).'),
          max_host_window: duration().prefault('1h').describe('Largest host window a request may ask for.'),
          limit: z.number().int().positive().default(200).describe('Related records returned at most (the `limit` parameter may ask for fewer).'),
        })
        .prefault({})
        .describe('Related records across hosts and operating systems (api.md).'),
    })
    .prefault({}),
  ui: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Serve the web UI at `/` (built into web/dist by `npm install`, or `npm run build:web`).'),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe("Cairn's own log level (JSON lines on stderr)."),
    })
    .prefault({}),
});

export type CairnConfig = z.output<typeof configSchema>;
export type CairnConfigInput = z.input<typeof configSchema>;
