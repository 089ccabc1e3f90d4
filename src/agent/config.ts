/**
 * The agent's configuration: where to ship (server), what to keep on disk
 * (buffer), how to ship (ship), and what to collect (inputs). The `inputs`
 * section has the same shape locally and on the server (the per-access-key
 * config a `cairn agents config set` stores), so one schema checks both and
 * errors name the key either way.
 */
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { byteSize, duration, hostPort } from '../config/fields.ts';
import { ConfigError, readConfigFile, setPath, validateWith } from '../config/base.ts';
import { ACCESS_KEY_PATTERN } from '../sources/agent/configs.ts';
import { TYPE_VALUES } from '../record/record.ts';

const regex = () =>
  z.string().min(1).superRefine((v, ctx) => {
    try {
      new RegExp(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
    }
  });

/** What every input may set on its records. */
const recordDefaults = {
  service: z.string().default('').describe('The `service` of every record.'),
  type: z.enum(TYPE_VALUES).optional().describe('The `type` of every record (system, application, logger); default per input.'),
  attrs: z.record(z.string(), z.json()).default({}).describe('Attributes added to every record.'),
};

export const fileInputSchema = z.strictObject({
  name: z.string().min(1).optional().describe('Name in metrics and logs; default: the first path.'),
  paths: z.array(z.string().min(1)).min(1).describe('Files to follow: paths or globs (`/var/log/nginx/*.log`, `/srv/**/app.log`).'),
  exclude: z.array(z.string().min(1)).default([]).describe('Globs of files not to follow (`*.gz`).'),
  encoding: z.enum(['utf8', 'utf16le', 'latin1']).default('utf8').describe('Text encoding of the files.'),
  start_at: z.enum(['beginning', 'end']).default('beginning').describe('Where to start in a file seen for the first time: its beginning, or its end (only new lines). Files that appear while the agent runs are always read from the beginning.'),
  max_line_bytes: byteSize().prefault('256KiB').describe('Longest line (or multiline record); longer ones are cut or dropped (`oversize_action`).'),
  oversize_action: z.enum(['truncate', 'drop']).default('truncate').describe('truncate: keep the first max_line_bytes, mark attrs.truncated; drop: skip the line (counted).'),
  multiline: z
    .strictObject({
      start: regex().describe('A line matching this regular expression starts a new record; other lines belong to the record before them.'),
      max_lines: z.number().int().positive().default(500).describe('A record ends after this many lines.'),
      timeout: duration().prefault('2s').describe('A record ends when no line came for this long.'),
    })
    .nullable()
    .default(null)
    .describe('Joins continuation lines (stack traces) into one record.'),
  poll_interval: duration().prefault('250ms').describe('How often followed files are checked for new lines, when idle.'),
  scan_interval: duration().prefault('2s').describe('How often the globs are matched again (new, renamed and deleted files).'),
  unit: z.string().optional().describe('The `unit` of the records; default: the file name.'),
  ...recordDefaults,
});

export const journaldInputSchema = z.strictObject({
  units: z.array(z.string().min(1)).default([]).describe('Only these systemd units (`journalctl -u`); empty = all.'),
  matches: z.array(z.string().regex(/^[A-Z0-9_]+=/, 'a journal match is FIELD=value')).default([]).describe('Further journalctl matches, FIELD=value.'),
  directory: z.string().min(1).nullable().default(null).describe('Read the journal files in this directory (`journalctl --directory`) instead of the system journal.'),
  files: z.array(z.string().min(1)).default([]).describe('Read these journal files (`journalctl --file`) instead of the system journal.'),
  journalctl: z.string().min(1).default('journalctl').describe('The journalctl program.'),
  start_at: z.enum(['beginning', 'end']).default('end').describe('Where to start without a saved cursor: the oldest entry, or only new entries.'),
  max_field_bytes: byteSize().prefault('256KiB').describe('Longest field value kept; longer ones are cut (attrs.truncated).'),
  keep_raw: z.boolean().default(false).describe('Send each entry as `raw` too.'),
  ...recordDefaults,
});

export const windowsInputSchema = z.strictObject({
  channels: z.array(z.string().min(1)).min(1).default(['System', 'Application']).describe('Event log channels (System, Application, Security, Microsoft-Windows-Sysmon/Operational, ...).'),
  method: z.enum(['wevtutil', 'powershell']).default('wevtutil').describe('How channels are read.'),
  batch_size: z.number().int().positive().max(10_000).default(500).describe('Events per query.'),
  rendered: z.boolean().default(true).describe('Ask Windows for the rendered message.'),
  start_at: z.enum(['oldest', 'newest']).default('oldest').describe('Where a channel without a bookmark starts.'),
  poll_interval: duration().prefault('2s').describe('Time between queries of a channel that had nothing new.'),
  keep_raw: z.boolean().default(false).describe('Send the event XML as `raw` too.'),
  ...recordDefaults,
});

export const evtxInputSchema = z.strictObject({
  paths: z.array(z.string().min(1)).min(1).describe('Exported .evtx files to read: paths or globs. Each file is read once (remembered by path, size and mtime).'),
  scan_interval: duration().prefault('30s').describe('How often the paths are looked at for new files.'),
  keep_raw: z.boolean().default(false).describe('Send the event XML as `raw` too.'),
  ...recordDefaults,
});

export const inputsSchema = z.strictObject({
  files: z
    .array(z.union([z.string().min(1).transform((path) => fileInputSchema.parse({ paths: [path] })), fileInputSchema]))
    .default([])
    .describe('Files to follow; an entry is a path/glob, or an object with paths and options.'),
  journald: journaldInputSchema.nullable().default(null).describe('The systemd journal (Linux).'),
  windows: windowsInputSchema.nullable().default(null).describe('Windows Event Log channels, live (Windows only).'),
  evtx: evtxInputSchema.nullable().default(null).describe('Exported Windows .evtx files, on any OS.'),
});

function defaultDataDir(): string {
  if (process.platform === 'win32') return join(process.env.ProgramData ?? 'C:\\ProgramData', 'Cairn', 'agent');
  return '/var/lib/cairn-agent';
}

export const agentConfigSchema = z.strictObject({
  server: z
    .strictObject({
      url: z
        .string()
        .regex(/^(grpcs?|https?):\/\/[^/\s]+\/?$/, 'expected grpcs://HOST:PORT (TLS) or grpc://HOST:PORT (plaintext)')
        .describe('The Cairn server\'s gRPC listener: grpcs://HOST:PORT (TLS) or grpc://HOST:PORT (plaintext, loopback or trusted networks).'),
      token: z.string().min(1).nullable().default(null).describe('Ingest token (a JWT from `cairn token create --jwt`, or an opaque one).'),
      token_file: z.string().min(1).nullable().default(null).describe('File holding the token, re-read at every connect (so a renewed token applies without a restart).'),
      access_key: z.string().regex(ACCESS_KEY_PATTERN, 'an access key is 1-63 letters, digits, ".", "_", "-"').default('default').describe('Which server-side collection config to fetch and watch.'),
      ca: z.string().min(1).nullable().default(null).describe('PEM file of the CA that signed the server\'s certificate (default: the system\'s CAs).'),
      server_name: z.string().min(1).nullable().default(null).describe('TLS name to check the certificate against, when it differs from the URL\'s host.'),
      reconnect_min: duration().prefault('500ms').describe('First wait before reconnecting; doubles up to reconnect_max.'),
      reconnect_max: duration().prefault('30s').describe('Longest wait between reconnects.'),
    })
    .describe('Where to ship.'),
  agent: z
    .strictObject({
      data_dir: z
        .string()
        .min(1)
        .nullable()
        .default(null)
        .transform((v) => v ?? defaultDataDir())
        .describe('The buffer, positions and the agent id live here; null = /var/lib/cairn-agent (Windows: %ProgramData%\\Cairn\\agent).'),
      id: z.string().min(1).max(128).nullable().default(null).describe('This installation\'s id; default: a UUID made at first start and kept in data_dir.'),
      hostname: z
        .string()
        .min(1)
        .nullable()
        .default(null)
        .transform((v) => v ?? osHostname())
        .describe('Host name sent with the agent\'s status and on file records; null = the machine\'s name.'),
    })
    .prefault({}),
  buffer: z
    .strictObject({
      max_bytes: byteSize().prefault('256MiB').describe('Disk the buffer may use.'),
      segment_bytes: byteSize().prefault('16MiB').describe('Size of one buffer file (at most max_bytes / 4).'),
      policy: z.enum(['block', 'drop_oldest']).default('block').describe('When full: block (inputs pause and resume from their positions; nothing is lost while the sources keep the data) or drop_oldest (the oldest unsent records are deleted and counted).'),
      fsync_interval: duration().prefault('100ms').describe('Group fsync interval; 0 fsyncs every append. A power loss can lose this much (inputs then read it again); a process crash loses nothing written.'),
    })
    .prefault({}),
  ship: z
    .strictObject({
      batch_records: z.number().int().positive().max(100_000).default(2000).describe('Records per batch, at most.'),
      batch_bytes: byteSize().prefault('1MiB').describe('Bytes per batch, about (at most the server\'s sources.grpc.max_message_bytes).'),
      max_in_flight: z.number().int().positive().max(64).default(4).describe('Batches sent and not yet acknowledged (the server reads up to sources.agent.max_in_flight_batches at once). Each is in memory twice until its ack (the batch and its gRPC frame).'),
      heartbeat_interval: duration().prefault('15s').describe('Status sent this often when there is nothing to ship.'),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      listen: hostPort().nullable().default(null).describe('HOST:PORT for /metrics and /healthz (e.g. 127.0.0.1:9108); null = off.'),
    })
    .prefault({}),
  inputs: inputsSchema.prefault({}).describe('What to collect here; the server-side config for the access key adds to it.'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe("The agent's own log level (JSON lines on stderr)."),
    })
    .prefault({}),
});

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type InputsConfig = z.output<typeof inputsSchema>;
export type FileInputConfig = z.output<typeof fileInputSchema>;
export type JournaldInputConfig = z.output<typeof journaldInputSchema>;
export type WindowsInputConfig = z.output<typeof windowsInputSchema>;
export type EvtxInputConfig = z.output<typeof evtxInputSchema>;

export interface AgentLoadOptions {
  file?: string;
  /** Flag overrides as dotted paths, with the flag that set each (for errors). */
  flags?: Record<string, { value: unknown; flag: string }>;
}

/** Reads agent.yaml (if given) and the flags over it; errors name each bad key and where it came from. */
export function loadAgentConfig(options: AgentLoadOptions): AgentConfig {
  const tree = options.file ? readConfigFile(options.file) : {};
  const origins = new Map<string, string>();
  for (const [path, { value, flag }] of Object.entries(options.flags ?? {})) {
    if (value === undefined) continue;
    setPath(tree, path.split('.'), value);
    origins.set(path, flag);
  }
  if (!tree.server) throw new ConfigError(['server.url: the server to ship to is required (--server URL or server.url in the config file)'], options.file ?? 'flags');
  return validateWith(agentConfigSchema, tree, options.file ?? 'flags', origins);
}

/** A server-side config (JSON object) checked as an `inputs` section; the error names the access key and the keys. */
export function parseRemoteInputs(json: unknown, accessKey: string): InputsConfig {
  return validateWith(inputsSchema, json, `server config for access key "${accessKey}"`);
}
