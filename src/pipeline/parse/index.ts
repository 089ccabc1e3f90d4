/**
 * The `parse` stage: structure out of text. A field (the message by default)
 * is tried against formats in order (json, logfmt, kv, regex, or a library
 * pattern such as nginx_access); the first that matches puts its fields into
 * attrs and may set core fields (ts, severity, message, ...) from them.
 *
 * Bounded work per record: text longer than max_input_chars is not parsed
 * (the record is kept with the reason in attrs.pipeline_error), JSON deeper
 * than max_depth or with more than max_fields keys is refused the same way,
 * and every regex is either a reviewed library pattern or a user pattern
 * compiled with RE2 semantics (../regex.ts).
 */
import { z } from 'zod';
import type { Attrs, JsonValue, LogRecord } from '../../record/record.ts';
import { putOwn, setDotted } from '../../record/attrs.ts';
import { parseSeverity } from '../../record/severity.ts';
import { stages, type Stage, type StageContext } from '../pipeline.ts';
import { attrsObjectAt, fieldOption, listOf, parseStageOptions, readText, regexOption, StageConfigError } from '../options.ts';
import { captureGroups } from '../../query/regex.ts';
import { PATTERN_NAMES, PATTERNS, matchFields, type LibraryPattern } from './patterns.ts';
import { TIMESTAMP_FORMATS, parseTimestampAs, type TimestampFormat } from './timestamp.ts';
import { ParseLimitError, pairsToAttrs, parseJsonObject, parseKeyValues, type Limits } from './formats.ts';

const GENERIC_FORMATS = ['json', 'logfmt', 'kv', 'regex'] as const;
const CORE_TARGETS = ['ts', 'severity', 'message', 'service', 'host', 'unit', 'trace_id', 'span_id', 'correlation_id'] as const;
type CoreTarget = (typeof CORE_TARGETS)[number];

const DEFAULT_CORE: Partial<Record<CoreTarget, string[]>> = {
  ts: ['time', 'timestamp', 'ts', '@timestamp'],
  severity: ['level', 'severity', 'lvl', 'loglevel'],
  message: ['msg', 'message'],
};

const optionsSchema = z.strictObject({
  type: z.literal('parse'),
  field: fieldOption().default({ kind: 'core', name: 'message' }),
  format: listOf(z.string()),
  regex: listOf(z.string()).optional(),
  kv_separator: z.string().min(1).max(4).default('='),
  target: z.union([z.literal('attrs'), fieldOption()]).default('attrs'),
  overwrite: z.boolean().default(false),
  core: z.partialRecord(z.enum(CORE_TARGETS), listOf(z.string())).optional(),
  timestamp_format: z.enum(TIMESTAMP_FORMATS).default('auto'),
  on_mismatch: z.enum(['keep', 'error', 'drop']).default('keep'),
  max_input_chars: z.number().int().positive().default(65_536),
  max_depth: z.number().int().positive().max(1000).default(32),
  max_fields: z.number().int().positive().default(256),
});

type Options = z.output<typeof optionsSchema>;

interface Parser {
  run(text: string): Attrs | null;
  pattern?: LibraryPattern;
}

function buildParsers(o: Options, limits: Limits): Parser[] {
  const problems: { key: string; message: string }[] = [];
  const parsers: Parser[] = [];
  o.format.forEach((format, i) => {
    if (format === 'json') parsers.push({ run: (t) => parseJsonObject(t, limits) });
    else if (format === 'logfmt' || format === 'kv') {
      const kv = { separator: o.kv_separator, strict: format === 'logfmt' };
      parsers.push({
        run: (t) => {
          const pairs = parseKeyValues(t, kv, limits);
          return pairs ? pairsToAttrs(pairs) : null;
        },
      });
    } else if (format === 'regex') {
      if (!o.regex) {
        problems.push({ key: 'regex', message: 'format "regex" needs `regex: PATTERN` (named groups become fields)' });
        return;
      }
      o.regex.forEach((pattern, j) => {
        const key = o.regex!.length > 1 ? `regex.${j}` : 'regex';
        try {
          const re = regexOption(key, pattern);
          if (!captureGroups(pattern).some((name) => name !== undefined)) problems.push({ key, message: `${JSON.stringify(pattern)} has no named group such as (?P<user>\\S+): nothing to extract` });
          parsers.push({
            run: (t) => {
              const m = re.exec(t);
              return m ? matchFields(m) : null;
            },
          });
        } catch (err) {
          if (err instanceof StageConfigError) problems.push(...err.problems);
          else throw err;
        }
      });
    } else if (Object.hasOwn(PATTERNS, format)) {
      const pattern = PATTERNS[format]!;
      parsers.push({
        pattern,
        run: (t) => {
          for (const re of pattern.regexes) {
            const m = re.exec(t);
            if (m) {
              const fields = matchFields(m);
              pattern.refine?.(fields);
              return fields;
            }
          }
          return null;
        },
      });
    } else {
      problems.push({
        key: o.format.length > 1 ? `format.${i}` : 'format',
        message: `unknown format ${JSON.stringify(format)} (known: ${[...GENERIC_FORMATS, ...PATTERN_NAMES].join(', ')})`,
      });
    }
  });
  if (o.regex && !o.format.includes('regex')) problems.push({ key: 'regex', message: 'is set but `format` does not include "regex"' });
  if (problems.length > 0) throw new StageConfigError(problems);
  return parsers;
}

/** The first candidate key present in the fields: taken out of them and returned. */
function take(fields: Attrs, keys: readonly string[] | undefined): JsonValue | undefined {
  if (!keys) return undefined;
  for (const key of keys) {
    if (Object.hasOwn(fields, key)) {
      const v = fields[key];
      delete fields[key];
      return v;
    }
  }
  return undefined;
}

export function createParseStage(raw: unknown, ctx: StageContext): Stage {
  const o = parseStageOptions(optionsSchema, raw);
  const limits: Limits = { maxDepth: o.max_depth, maxFields: o.max_fields };
  const parsers = buildParsers(o, limits);
  const core = o.core ?? DEFAULT_CORE;
  const targetPath = o.target === 'attrs' ? [] : o.target.kind === 'attr' ? o.target.path : null;
  if (targetPath === null) throw new StageConfigError([{ key: 'target', message: 'expected attrs or attrs.NAME' }]);
  const maxFutureNs = BigInt(Math.round(ctx.config.ingest.max_future)) * 1_000_000n;
  const { report } = ctx;
  const fieldName = o.field.kind === 'core' ? o.field.name : `attrs.${o.field.path.join('.')}`;

  function setTs(r: LogRecord, value: JsonValue | undefined, format: TimestampFormat): void {
    if (value === undefined || value === null || value === '') return;
    const ns = parseTimestampAs(value, format, r.observed_ts);
    if (ns === undefined) throw new Error(`timestamp ${JSON.stringify(value).slice(0, 80)} is not in ${format} format`);
    if (ns < 0n || ns > r.observed_ts + maxFutureNs) throw new Error(`timestamp ${JSON.stringify(value).slice(0, 80)} is out of range (ingest.max_future)`);
    r.ts = ns;
  }

  function apply(r: LogRecord, fields: Attrs, pattern: LibraryPattern | undefined): void {
    if (pattern) {
      if (pattern.timestamp) {
        const value = fields[pattern.timestamp.field];
        if (value !== undefined) {
          setTs(r, value, pattern.timestamp.format);
          delete fields[pattern.timestamp.field];
        }
      }
      const severity = pattern.severity?.(fields);
      if (severity !== undefined && Number.isInteger(severity) && severity >= 0 && severity <= 7) r.severity = severity;
      for (const [target, key] of Object.entries(pattern.core ?? {})) {
        const v = fields[key];
        if (typeof v !== 'string') continue;
        delete fields[key];
        if (target === 'message') r.message = v;
        else if (target === 'host' || target === 'unit') r[target] ||= v;
      }
    } else {
      const ts = take(fields, core.ts);
      if (ts !== undefined) setTs(r, ts, o.timestamp_format);
      const severity = take(fields, core.severity);
      if (severity !== undefined) r.severity = parseSeverity(severity) ?? r.severity;
      for (const name of ['message', 'service', 'host', 'unit', 'trace_id', 'span_id', 'correlation_id'] as const) {
        const v = take(fields, core[name]);
        if (v !== undefined && v !== null) r[name] = typeof v === 'string' ? v : JSON.stringify(v);
      }
    }
    const target = attrsObjectAt(r.attrs, targetPath!);
    if (target === null) throw new Error(`attrs.${targetPath!.join('.')} is not an object; parsed fields not stored`);
    for (const key in fields) {
      if (!o.overwrite && Object.hasOwn(target, key)) continue;
      if (key.includes('.')) setDotted(target, key, fields[key]!);
      else putOwn(target, key, fields[key]!);
    }
  }

  /** Parses one record; false when it is in none of the formats (a mismatch). */
  function parseRecord(r: LogRecord): boolean {
    const text = readText(r, o.field);
    if (text === undefined) return true;
    try {
      if (text.length > o.max_input_chars) throw new ParseLimitError(`${fieldName} is ${text.length} characters, longer than max_input_chars (${o.max_input_chars}); not parsed`);
      for (const p of parsers) {
        const fields = p.run(text);
        if (fields === null) continue;
        apply(r, fields, p.pattern);
        return true;
      }
      if (o.on_mismatch === 'error') report.failed(r, new Error(`${fieldName} is not in format ${o.format.join(' or ')}`));
      return false;
    } catch (err) {
      report.failed(r, err);
      return true;
    }
  }

  return {
    name: 'parse',
    process(records: LogRecord[]): LogRecord[] {
      if (o.on_mismatch !== 'drop') {
        for (const r of records) parseRecord(r);
        return records;
      }
      const out = records.filter(parseRecord);
      report.dropped('mismatch', records.length - out.length);
      return out;
    },
  };
}

stages.register('parse', createParseStage);
