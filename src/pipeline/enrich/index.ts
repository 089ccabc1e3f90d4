/**
 * The `enrich` stage: context a line does not carry itself. In this order:
 * static fields, the service catalog (host/unit → service, team, env), trace
 * and correlation ids, GeoIP of IP fields. Everything it needs (catalog
 * file, GeoIP database) is read once when the stage is built.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import type { LogRecord } from '../../record/record.ts';
import { putOwn, setDotted } from '../../record/attrs.ts';
import { stages, type Stage, type StageContext } from '../pipeline.ts';
import { fieldOption, listOf, parseStageOptions, readText, regexOption, StageConfigError, type OptionProblem } from '../options.ts';
import { catalogEntrySchema, readCatalogFile, ServiceCatalog, type CatalogEntry } from './catalog.ts';
import {
  CorrelationExtractor,
  DEFAULT_CORRELATION_KEYS,
  DEFAULT_CORRELATION_PATTERNS,
  DEFAULT_SPAN_KEYS,
  DEFAULT_TRACE_KEYS,
  DEFAULT_TRACEPARENT_KEYS,
} from './correlation.ts';
import { defaultGeoipDatabase, GeoIp } from './geoip.ts';
import type { UserRegex } from '../regex.ts';

const STATIC_CORE = ['service', 'host', 'unit'] as const;
const DEFAULT_IP_FIELDS = ['attrs.client_ip', 'attrs.remote_addr', 'attrs.client', 'attrs.src_ip', 'attrs.source_ip', 'attrs.src', 'attrs.ip'];

const optionsSchema = z.strictObject({
  type: z.literal('enrich'),
  static: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).default({}),
  overwrite: z.boolean().default(false),
  catalog: z
    .strictObject({
      entries: z.array(catalogEntrySchema).default([]),
      file: z.string().min(1).optional(),
    })
    .optional(),
  correlation: z
    .strictObject({
      enabled: z.boolean().default(true),
      traceparent_keys: z.array(z.string()).default(DEFAULT_TRACEPARENT_KEYS),
      trace_keys: z.array(z.string()).default(DEFAULT_TRACE_KEYS),
      span_keys: z.array(z.string()).default(DEFAULT_SPAN_KEYS),
      correlation_keys: z.array(z.string()).default(DEFAULT_CORRELATION_KEYS),
      patterns: z.array(z.string()).default(DEFAULT_CORRELATION_PATTERNS),
      normalize_guids: z.boolean().default(true),
    })
    .prefault({}),
  geoip: z
    .strictObject({
      fields: listOf(fieldOption()).default(DEFAULT_IP_FIELDS.map((f) => ({ kind: 'attr' as const, path: f.slice(6).split('.') }))),
      database: z.string().min(1).optional(),
      target: z.string().regex(/^[A-Za-z_][\w.]*$/).default('geo'),
    })
    .optional(),
});

export function createEnrichStage(raw: unknown, ctx: StageContext): Stage {
  const o = parseStageOptions(optionsSchema, raw);
  const problems: OptionProblem[] = [];

  const staticCore: [(typeof STATIC_CORE)[number], string][] = [];
  const staticAttrs: [string, string | number | boolean][] = [];
  for (const [key, value] of Object.entries(o.static)) {
    if ((STATIC_CORE as readonly string[]).includes(key)) staticCore.push([key as (typeof STATIC_CORE)[number], String(value)]);
    else staticAttrs.push([key.startsWith('attrs.') ? key.slice(6) : key, value]);
  }

  let catalog: ServiceCatalog | null = null;
  if (o.catalog) {
    let entries: CatalogEntry[] = o.catalog.entries;
    if (o.catalog.file) {
      try {
        entries = [...entries, ...readCatalogFile(o.catalog.file)];
      } catch (err) {
        problems.push({ key: 'catalog.file', message: (err as Error).message });
      }
    }
    catalog = new ServiceCatalog(entries);
  }

  let correlation: CorrelationExtractor | null = null;
  if (o.correlation.enabled) {
    const patterns: UserRegex[] = [];
    o.correlation.patterns.forEach((p, i) => {
      try {
        patterns.push(regexOption(`correlation.patterns.${i}`, p));
      } catch (err) {
        if (err instanceof StageConfigError) problems.push(...err.problems);
        else throw err;
      }
    });
    correlation = new CorrelationExtractor({
      traceparentKeys: o.correlation.traceparent_keys,
      traceKeys: o.correlation.trace_keys,
      spanKeys: o.correlation.span_keys,
      correlationKeys: o.correlation.correlation_keys,
      patterns,
      normalizeGuids: o.correlation.normalize_guids,
    });
  }

  let geoip: GeoIp | null = null;
  if (o.geoip) {
    const file = o.geoip.database ?? defaultGeoipDatabase();
    try {
      geoip = new GeoIp(file);
    } catch (err) {
      problems.push({ key: 'geoip.database', message: `cannot read the MaxMind database ${file}: ${(err as Error).message}` });
    }
  }
  if (problems.length > 0) throw new StageConfigError(problems);

  const overwrite = o.overwrite;
  const geoFields = o.geoip?.fields ?? [];
  const geoTarget = o.geoip?.target ?? 'geo';
  const { report } = ctx;

  function enrich(r: LogRecord): void {
    for (const [field, value] of staticCore) if (overwrite || r[field] === '') r[field] = value;
    for (const [key, value] of staticAttrs) if (overwrite || !Object.hasOwn(r.attrs, key)) setDotted(r.attrs, key, value);
    if (catalog) {
      const hit = catalog.lookup(r.host, r.unit);
      if (hit) {
        if (hit.service !== undefined && (overwrite || r.service === '')) r.service = hit.service;
        for (const key in hit.attrs) if (overwrite || !Object.hasOwn(r.attrs, key)) putOwn(r.attrs, key, hit.attrs[key]!);
      }
    }
    correlation?.apply(r);
    if (geoip) {
      for (const field of geoFields) {
        const ip = readText(r, field);
        if (ip === undefined || isIP(ip) === 0) continue;
        const geo = geoip.lookup(ip);
        if (geo) {
          setDotted(r.attrs, geoTarget, { ip_field: field.kind === 'attr' ? field.path.join('.') : field.name, ...geo });
          break;
        }
      }
    }
  }

  return {
    name: 'enrich',
    process(records: LogRecord[]): LogRecord[] {
      for (const r of records) {
        try {
          enrich(r);
        } catch (err) {
          report.failed(r, err);
        }
      }
      return records;
    },
  };
}

stages.register('enrich', createEnrichStage);
