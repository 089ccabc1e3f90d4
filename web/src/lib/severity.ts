/** Syslog severities as the API names them (src/record/severity.ts): 0 is the worst. */
export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Short labels for the results list, padded to one width by CSS. */
export const SEVERITY_LABELS: Record<Severity, string> = {
  emerg: 'EMERG',
  alert: 'ALERT',
  crit: 'CRIT',
  err: 'ERROR',
  warning: 'WARN',
  notice: 'NOTICE',
  info: 'INFO',
  debug: 'DEBUG',
};

export function severityOf(level: string | number): Severity {
  if (typeof level === 'number') return SEVERITIES[level] ?? 'info';
  return (SEVERITIES as readonly string[]).includes(level) ? (level as Severity) : 'info';
}
