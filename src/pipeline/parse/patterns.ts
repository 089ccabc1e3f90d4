/**
 * The named pattern library: common log formats as regexes with named
 * groups, plus what each means for the record's core fields (where its
 * timestamp is and how it is written, how severity follows from it).
 *
 * These are JavaScript RegExps written for this file, not user input: each
 * is anchored, its alternatives start with different characters and its
 * repeated parts are delimited by characters they cannot contain, so a
 * mismatch fails in one pass (test/pipeline-bad-input.test.ts runs each
 * against hostile lines).
 */
import type { Attrs } from '../../record/record.ts';
import { parseSeverity } from '../../record/severity.ts';
import type { TimestampFormat } from './timestamp.ts';

export interface LibraryPattern {
  description: string;
  /** Tried in order; the first that matches gives the fields (its named groups that matched). */
  regexes: RegExp[];
  /** The field holding the event time, and how it is written. */
  timestamp?: { field: string; format: TimestampFormat };
  /** Severity from the fields (after refine), when the format tells it. */
  severity?: (fields: Attrs) => number | undefined;
  /** Further fields from one that is itself structured (a request line, key=value pairs). */
  refine?: (fields: Attrs) => void;
  /** Fields that are core fields: `message` replaces the message, the others fill empty ones. */
  core?: Partial<Record<'message' | 'host' | 'unit', string>>;
}

const fromLevel = (field: string) => (f: Attrs) => parseSeverity(f[field]);

/** 5xx → err, 4xx → warning: what an access log says about how a request went. */
const fromStatus = (f: Attrs): number | undefined => {
  const status = Number(f.status);
  return status >= 500 ? 3 : status >= 400 ? 4 : undefined;
};

/** `GET /path HTTP/1.1` → method, path, protocol (a malformed request line stays as it is in `request`). */
function splitRequest(f: Attrs): void {
  const request = f.request;
  if (typeof request !== 'string') return;
  const m = /^([A-Z][A-Z_-]*) (\S+)(?: (HTTP\/[\d.]+))?$/.exec(request);
  if (!m) return;
  f.method = m[1]!;
  f.path = m[2]!;
  if (m[3]) f.protocol = m[3];
}

// An access-log field in quotes, with \" and \\ escapes (Apache escapes, nginx writes \x22).
const Q = '"((?:[^"\\\\]|\\\\.)*)"';
const ACCESS = new RegExp(
  `^(?<remote_addr>\\S+) (?<ident>\\S+) (?<remote_user>\\S+) \\[(?<time_local>[^\\]]{1,64})\\] ${Q.replace('(', '(?<request>')} (?<status>\\d{3}) (?<body_bytes>\\d+|-)` +
    `(?: ${Q.replace('(', '(?<referer>')} ${Q.replace('(', '(?<user_agent>')})?(?: (?<extra>.*))?$`,
);

const access: LibraryPattern = {
  description: 'Common and combined access log (nginx, Apache httpd): remote_addr, remote_user, request (method, path, protocol), status, body_bytes, referer, user_agent.',
  regexes: [ACCESS],
  timestamp: { field: 'time_local', format: 'clf' },
  severity: fromStatus,
  refine: splitRequest,
};

/** nginx error log details: `, client: 1.2.3.4, server: x, request: "GET / HTTP/1.1", upstream: "..."`. */
function nginxErrorDetails(f: Attrs): void {
  const text = f.detail;
  if (typeof text !== 'string') return;
  for (const m of text.matchAll(/, (client|server|request|upstream|host|referrer): (?:"([^"]*)"|([^,]*))/g)) f[m[1]!] = m[2] ?? m[3]!;
  splitRequest(f);
}

export const PATTERNS: Record<string, LibraryPattern> = {
  nginx_access: access,
  apache_access: access,
  nginx_error: {
    description: 'nginx error log: time, level, pid, tid, connection, detail, and client, server, request, upstream, host from the detail.',
    regexes: [/^(?<time>\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}) \[(?<level>[a-z]+)\] (?<pid>\d+)#(?<tid>\d+): (?:\*(?<connection>\d+) )?(?<detail>.*)$/],
    timestamp: { field: 'time', format: 'ymd' },
    severity: fromLevel('level'),
    refine: nginxErrorDetails,
  },
  apache_error: {
    description: 'Apache httpd error log (2.2 and 2.4): time, module, level, pid, tid, client, detail.',
    regexes: [
      /^\[(?<time>[^\]]{1,64})\] \[(?:(?<module>[a-z_0-9]+):)?(?<level>[a-z0-9]+)\] (?:\[pid (?<pid>\d+)(?::tid (?<tid>\d+))?\] )?(?:\[client (?<client>[^\]]+)\] )?(?<detail>.*)$/,
    ],
    timestamp: { field: 'time', format: 'ctime' },
    severity: (f) => parseSeverity(String(f.level).replace(/^trace\d$/, 'trace')),
  },
  sshd: {
    description: 'OpenSSH server messages: event (accepted, failed, invalid_user, disconnect, pam), method, user, client_ip, client_port.',
    regexes: [
      /^(?<event>Accepted|Failed) (?<method>[\w-]+) for (?:(?<invalid>invalid user) )?(?<user>\S*) from (?<client_ip>[0-9A-Fa-f.:]+) port (?<client_port>\d+)(?: (?<protocol>ssh\d?))?/,
      /^(?<event>Invalid user) (?<user>\S*) from (?<client_ip>[0-9A-Fa-f.:]+)(?: port (?<client_port>\d+))?/,
      /^(?<event>Received disconnect|Disconnected|Connection closed) (?:from|by) (?:(?:invalid |authenticating )?user (?<user>\S+) )?(?<client_ip>[0-9A-Fa-f.:]+)(?: port (?<client_port>\d+))?/,
      /^pam_unix\(sshd:(?<pam_phase>[a-z]+)\): (?<event>authentication failure|session opened|session closed|check pass)(?<detail>.*)$/,
    ],
    severity: (f) => (f.event === 'failed' || f.event === 'invalid_user' || f.event === 'authentication_failure' ? 5 : undefined),
    refine: (f) => {
      const event = String(f.event ?? '');
      f.event = event.toLowerCase().replace(/ /g, '_');
      if (f.invalid !== undefined) {
        f.invalid_user = true;
        delete f.invalid;
      }
      if (typeof f.detail === 'string') {
        const user = /(?:^|[ ;])(?:user[= ])([^ ;()]+)/.exec(f.detail);
        if (user) f.user = user[1]!;
        const rhost = /rhost=(\S+)/.exec(f.detail);
        if (rhost) f.client_ip = rhost[1]!;
      }
    },
  },
  sudo: {
    description: 'sudo command log: user, error (when refused), tty, pwd, run_as, command.',
    regexes: [/^\s*(?<user>[^\s:]+) : (?:(?<error>[^;=]+) ; )?TTY=(?<tty>[^ ;]+) ; PWD=(?<pwd>[^;]*) ; USER=(?<run_as>[^ ;]+) ;(?: GROUP=(?<group>[^ ;]+) ;)?(?: ENV=[^;]* ;)? COMMAND=(?<command>.*)$/],
    severity: (f) => (f.error !== undefined ? 4 : undefined),
  },
  kernel: {
    description: 'Linux kernel messages: uptime, and by kind: oom (pid, process), segfault (process, pid, address, object), firewall (action, in, out, src, dst, proto, spt, dpt), subsystem/device prefixes.',
    regexes: [
      /^(?:\[\s*(?<uptime>\d+\.\d+)\] )?(?<kind>Out of memory): Killed process (?<pid>\d+) \((?<process>[^)]*)\)(?<detail>.*)$/,
      /^(?:\[\s*(?<uptime>\d+\.\d+)\] )?(?<process>[^\s[]+)\[(?<pid>\d+)\]: (?<kind>segfault) at (?<address>[0-9a-f]+) ip (?<ip>[0-9a-f]+) sp (?<sp>[0-9a-f]+) error (?<error_code>\d+)(?: in (?<object>[^\s[]+))?/,
      /^(?:\[\s*(?<uptime>\d+\.\d+)\] )?\[(?<kind>UFW|iptables|nftables)[ :]?(?<action>[A-Z]*)\] ?(?<detail>IN=.*)$/,
      /^(?:\[\s*(?<uptime>\d+\.\d+)\] )?(?:(?<subsystem>[A-Za-z][\w-]*(?: [\w:.-]+)?): )?(?<detail>.*)$/,
    ],
    severity: (f) => (f.kind === 'oom' || f.kind === 'segfault' ? 3 : undefined),
    refine: (f) => {
      if (typeof f.kind === 'string') f.kind = f.kind === 'Out of memory' ? 'oom' : f.kind === 'segfault' ? 'segfault' : 'firewall';
      if (f.kind === 'firewall' && typeof f.detail === 'string') {
        for (const m of f.detail.matchAll(/\b(IN|OUT|SRC|DST|PROTO|SPT|DPT|LEN|TTL|MAC)=(\S*)/g)) f[m[1]!.toLowerCase()] = m[2]!;
      }
    },
  },
  syslog: {
    description: 'A BSD syslog line still carrying its header (`Oct 11 22:14:15 host sshd[42]: text`): the time into ts, host and ident into host and unit when those are empty, pid, text into the message. An ident may carry a version (`syslogd 1.4.1:`, as sysklogd writes).',
    regexes: [/^(?:<(?<pri>\d{1,3})>)?(?<syslog_time>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) (?<host>[^\s:]+) (?<ident>[^\s:[]+(?: [\d.]+)?)(?:\[(?<pid>\d+)\])?: (?<text>.*)$/],
    timestamp: { field: 'syslog_time', format: 'syslog' },
    severity: (f) => (f.pri !== undefined ? Number(f.pri) & 7 : undefined),
    core: { message: 'text', host: 'host', unit: 'ident' },
  },
};

export const PATTERN_NAMES = Object.keys(PATTERNS);

/** The named groups of a match that took part in it. */
export function matchFields(m: { groups?: Record<string, string | undefined> }): Attrs {
  const out: Attrs = {};
  const groups = m.groups;
  if (!groups) return out;
  for (const key in groups) {
    const v = groups[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}
