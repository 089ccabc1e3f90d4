/** LogRecord ⇄ the JSON shape the APIs speak. */
import type { LogRecord, RecordJson } from './record.ts';
import { recordId } from './id.ts';
import { severityName } from './severity.ts';
import { formatRfc3339Nano } from './time.ts';

export function recordToJson(r: LogRecord, includeRaw = false): RecordJson {
  const out: RecordJson = {
    id: recordId(r),
    ts: formatRfc3339Nano(r.ts),
    ts_ns: r.ts.toString(),
    observed_ts: formatRfc3339Nano(r.observed_ts),
    tenant: r.tenant,
    os: r.os,
    host: r.host,
    unit: r.unit,
    service: r.service,
    severity: r.severity,
    level: severityName(r.severity),
    type: r.type,
    message: r.message,
    trace_id: r.trace_id,
    span_id: r.span_id,
    correlation_id: r.correlation_id,
    template_id: r.template_id,
    attrs: r.attrs,
  };
  if (includeRaw) out.raw = r.raw;
  return out;
}
