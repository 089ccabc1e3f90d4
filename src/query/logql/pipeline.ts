/**
 * A LogQL log selector run in process, line by line, with Loki's semantics:
 * matchers, line filters, parsers, label filters, formats, drop/keep. This is
 * the exact meaning of a query: the store runs the parts plan.ts can push
 * down, this runs the rest (and is the reference the pushdown is tested
 * against). A parser never overrides a stream label that has a value: its
 * value is kept as `<name>_extracted`, as Loki does.
 */
import type { LogRecord } from '../../record/record.ts';
import type { LabelFilter, LabelMatcher, LineFilter, LogSelector, Stage } from './ast.ts';
import { parseNumberText } from '../ast.ts';
import { compileJsRegex } from '../regex.ts';
import { isStreamLabel, levelOf, metadataValue, streamLabels, structuredMetadata } from '../labels.ts';
import { parseSeverity, severityName } from '../../record/severity.ts';
import { compilePattern, compileRegexpParser, extractJsonPaths, parseJsonLine, parseLogfmt } from './parsers.ts';
import { compileTemplate, type Template } from './template.ts';
import { parseBytes, parseDurationNs } from './lexer.ts';

export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';

/** The labels of one line as the pipeline changes them. */
export class LineLabels {
  readonly record: LogRecord;
  private stream: Record<string, string> | null = null;
  /** Labels set by parsers and label_format (parsed), or "" when removed. */
  private readonly set = new Map<string, string>();
  constructor(record: LogRecord) {
    this.record = record;
  }

  private streamMap(): Record<string, string> {
    return (this.stream ??= streamLabels(this.record));
  }

  get(name: string): string {
    const v = this.set.get(name);
    if (v !== undefined) return v;
    if (isStreamLabel(name)) return this.streamMap()[name] ?? '';
    return metadataValue(this.record, name);
  }

  /** A parser's value: never over a stream label that has a value; empty values change nothing. */
  addParsed(name: string, value: string): void {
    if (value === '') return;
    if (isStreamLabel(name) && (this.streamMap()[name] ?? '') !== '' && !this.set.has(name)) {
      this.set.set(`${name}_extracted`, value);
      return;
    }
    this.set.set(name, value);
  }

  setLabel(name: string, value: string): void {
    this.set.set(name, value);
  }

  remove(name: string): void {
    this.set.set(name, '');
  }

  /** Stream labels as they are now (dropped ones left out, formatted ones changed). */
  streamPart(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.streamMap())) {
      const now = this.set.get(k) ?? v;
      if (now !== '') out[k] = now;
    }
    return out;
  }

  /** Labels the pipeline produced (parsers, label_format, __error__). */
  parsedPart(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.set) if (v !== '' && !(isStreamLabel(k) && k in this.streamMap())) out[k] = v;
    return out;
  }

  /** Structured metadata as it is now. */
  metadataPart(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(structuredMetadata(this.record))) {
      const now = this.set.get(k) ?? v;
      if (now !== '' && !this.set.has(k)) out[k] = now;
    }
    return out;
  }

  /** Everything: the labels of a metric sample, and of a line when the client does not ask for categorized labels. */
  allLabels(): Record<string, string> {
    return { ...this.metadataPart(), ...this.streamPart(), ...this.parsedPart() };
  }

  /** Every label name present now. */
  names(): string[] {
    return Object.keys(this.allLabels());
  }
}

export interface PipelineResult {
  line: string;
  labels: LineLabels;
}

type Step = (line: string, labels: LineLabels) => string | null;

/** `level="error"` means the level label "err": equality on level accepts every severity name. */
export function normalizeLevelMatcher(m: LabelMatcher): LabelMatcher {
  if (m.name !== 'level' || (m.op !== '=' && m.op !== '!=') || levelOf(m.value) !== undefined) return m;
  const sev = parseSeverity(m.value);
  return sev === undefined ? m : { ...m, value: severityName(sev) };
}

function matcherTest(m: LabelMatcher): (value: string) => boolean {
  const { op, value } = normalizeLevelMatcher(m);
  if (op === '=') return (v) => v === value;
  if (op === '!=') return (v) => v !== value;
  const re = compileJsRegex(value, { anchored: true, extraFlags: 's' });
  return op === '=~' ? (v) => re.test(v) : (v) => !re.test(v);
}

function lineFilterTest(f: LineFilter): (line: string) => boolean {
  let any: (line: string) => boolean;
  if (f.op === '|=' || f.op === '!=') {
    const values = f.values;
    any = (line) => values.some((v) => line.includes(v));
  } else if (f.op === '|~' || f.op === '!~') {
    const res = f.values.map((v) => compileJsRegex(v));
    any = (line) => res.some((re) => re.test(line));
  } else {
    const ms = f.values.map((v) => compilePattern(v));
    any = (line) => ms.some((m) => m.match(line) !== null);
  }
  return f.op.startsWith('!') ? (line) => !any(line) : any;
}

function numericTest(op: string, want: number): (n: number) => boolean {
  switch (op) {
    case '==':
      return (n) => n === want;
    case '!=':
      return (n) => n !== want;
    case '>':
      return (n) => n > want;
    case '>=':
      return (n) => n >= want;
    case '<':
      return (n) => n < want;
    default:
      return (n) => n <= want;
  }
}

/** Go durations as label values ("250ms", "1.5s"); seconds. */
function durationSeconds(text: string): number | undefined {
  const t = text.trim();
  if (t === '0') return 0;
  const neg = t.startsWith('-');
  const ns = parseDurationNs(neg ? t.slice(1) : t);
  return ns === undefined ? undefined : ((neg ? -1 : 1) * Number(ns)) / 1e9;
}

function labelFilterTest(f: LabelFilter): (labels: LineLabels) => boolean {
  switch (f.type) {
    case 'and': {
      const a = labelFilterTest(f.left);
      const b = labelFilterTest(f.right);
      return (l) => a(l) && b(l);
    }
    case 'or': {
      const a = labelFilterTest(f.left);
      const b = labelFilterTest(f.right);
      return (l) => a(l) || b(l);
    }
    case 'string': {
      const test = matcherTest({ name: f.name, op: f.op, value: f.value });
      return (l) => test(l.get(f.name));
    }
    case 'number': {
      const test = numericTest(f.op, f.value);
      return (l) => {
        const n = parseNumberText(l.get(f.name));
        return n !== undefined && test(n);
      };
    }
    case 'duration': {
      const test = numericTest(f.op, f.seconds);
      return (l) => {
        const s = durationSeconds(l.get(f.name));
        return s !== undefined && test(s);
      };
    }
    case 'bytes': {
      const test = numericTest(f.op, f.bytes);
      return (l) => {
        const b = parseBytes(l.get(f.name));
        return b !== undefined && test(b);
      };
    }
  }
}

/**
 * A template's text for this line, or null when it fails on the line's values:
 * as in Loki, the line then carries __error__=TemplateFormatErr (and the
 * reason in __error_details__) and goes on unchanged, the query does not fail.
 */
function renderOrMark(t: Template, line: string, labels: LineLabels): string | null {
  try {
    return t.render({ labels: (n) => labels.get(n), line, tsNs: labels.record.ts });
  } catch (err) {
    labels.setLabel(ERROR_LABEL, 'TemplateFormatErr');
    labels.setLabel(ERROR_DETAILS_LABEL, (err as Error).message);
    return null;
  }
}

// ANSI escape sequences (colors, cursor movement) that decolorize removes.
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;

function compileStage(stage: Stage): Step {
  switch (stage.type) {
    case 'line_filter': {
      const test = lineFilterTest(stage.filter);
      return (line) => (test(line) ? line : null);
    }
    case 'json': {
      if (stage.params.length > 0) {
        const params = stage.params.map((p) => ({ name: p.name, path: p.path }));
        return (line, labels) => {
          const pairs = extractJsonPaths(line, params);
          if (pairs === null) labels.setLabel(ERROR_LABEL, 'JSONParserErr');
          else for (const [k, v] of pairs) labels.addParsed(k, v);
          return line;
        };
      }
      return (line, labels) => {
        const pairs = parseJsonLine(line);
        if (pairs === null) labels.setLabel(ERROR_LABEL, 'JSONParserErr');
        else for (const [k, v] of pairs) labels.addParsed(k, v);
        return line;
      };
    }
    case 'logfmt': {
      const wanted = stage.params.length > 0 ? new Map(stage.params.map((p) => [p.key, p.name])) : null;
      return (line, labels) => {
        const pairs = parseLogfmt(line, stage.strict);
        if (pairs === null) {
          labels.setLabel(ERROR_LABEL, 'LogfmtParserErr');
          return line;
        }
        for (const [k, v] of pairs) {
          if (!wanted) labels.addParsed(k, v);
          else if (wanted.has(k)) labels.addParsed(wanted.get(k)!, v);
        }
        return line;
      };
    }
    case 'regexp': {
      const parser = compileRegexpParser(stage.pattern);
      return (line, labels) => {
        for (const [k, v] of parser.match(line) ?? []) labels.addParsed(k, v);
        return line;
      };
    }
    case 'pattern': {
      const parser = compilePattern(stage.pattern);
      return (line, labels) => {
        for (const [k, v] of parser.match(line) ?? []) labels.addParsed(k, v);
        return line;
      };
    }
    case 'label_filter': {
      const test = labelFilterTest(stage.filter);
      return (line, labels) => (test(labels) ? line : null);
    }
    case 'line_format': {
      const t = compileTemplate(stage.template);
      return (line, labels) => renderOrMark(t, line, labels) ?? line;
    }
    case 'label_format': {
      const items = stage.items.map((i) => ({ name: i.name, rename: i.rename, template: i.template ? compileTemplate(i.template) : null }));
      return (line, labels) => {
        // All templates see the labels as they were before this stage.
        const values = items.map((i) => (i.template ? renderOrMark(i.template, line, labels) : labels.get(i.rename!)));
        items.forEach((i) => {
          if (i.rename && i.rename !== i.name) labels.remove(i.rename);
        });
        items.forEach((i, k) => {
          if (values[k] !== null) labels.setLabel(i.name, values[k]!);
        });
        return line;
      };
    }
    case 'drop': {
      const items = stage.items.map((i) => ({ name: i.name, test: i.matcher ? matcherTest(i.matcher) : null }));
      return (line, labels) => {
        for (const i of items) if (!i.test || i.test(labels.get(i.name))) labels.remove(i.name);
        return line;
      };
    }
    case 'keep': {
      const items = stage.items.map((i) => ({ name: i.name, test: i.matcher ? matcherTest(i.matcher) : null }));
      const names = new Set(items.map((i) => i.name));
      return (line, labels) => {
        for (const n of labels.names()) if (!names.has(n)) labels.remove(n);
        for (const i of items) if (i.test && !i.test(labels.get(i.name))) labels.remove(i.name);
        return line;
      };
    }
    case 'decolorize':
      return (line) => line.replace(ANSI, '');
  }
}

/** The compiled selector: process(record) is the line and labels after the pipeline, or null when filtered out. */
export class Pipeline {
  private readonly matchers: { name: string; test: (v: string) => boolean }[];
  private readonly steps: Step[];
  constructor(selector: LogSelector) {
    this.matchers = selector.matchers.map((m) => ({ name: m.name, test: matcherTest(m) }));
    this.steps = selector.stages.map(compileStage);
  }

  process(record: LogRecord): PipelineResult | null {
    const labels = new LineLabels(record);
    for (const m of this.matchers) if (!m.test(labels.get(m.name))) return null;
    let line: string | null = record.message;
    for (const step of this.steps) {
      line = step(line, labels);
      if (line === null) return null;
    }
    return { line, labels };
  }
}
