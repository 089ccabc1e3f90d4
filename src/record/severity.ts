/** Syslog severities (RFC 5424 section 6.2.1): 0 is the most severe. */
export const SEVERITY_NAMES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type SeverityName = (typeof SEVERITY_NAMES)[number];

/** Names people and libraries use for the same levels. */
const SEVERITY_ALIASES: Record<string, number> = {
  emerg: 0,
  emergency: 0,
  panic: 0,
  alert: 1,
  crit: 2,
  critical: 2,
  fatal: 2,
  err: 3,
  error: 3,
  eror: 3,
  warning: 4,
  warn: 4,
  wrn: 4,
  notice: 5,
  info: 6,
  information: 6,
  informational: 6,
  inf: 6,
  debug: 7,
  dbg: 7,
  trace: 7,
  verbose: 7,
};

/** Parses a severity given as a syslog number (0..7) or a name; undefined when unknown. */
export function parseSeverity(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 && value <= 7 ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (/^[0-7]$/.test(text)) return Number(text);
  return SEVERITY_ALIASES[text];
}

export function severityName(severity: number): SeverityName {
  return SEVERITY_NAMES[severity] ?? 'info';
}
