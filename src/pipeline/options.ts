/**
 * What stages share: their options are checked with zod at start-up and
 * every problem names its key (relative to the stage; the builder prefixes
 * `pipeline.stages.<name>.`), and fields are addressed the same way
 * everywhere (`message`, `raw`, a core string field, or `attrs.a.b`).
 */
import { z } from 'zod';
import type { Attrs, JsonValue, LogRecord } from '../record/record.ts';
import { STRING_FIELDS } from '../record/record.ts';
import { putOwn } from '../record/attrs.ts';
import { attrAt } from '../query/labels.ts';
import { compileUserRegex, UnsafeRegexError, type UserRegex, type UserRegexOptions } from './regex.ts';

export interface OptionProblem {
  /** Dotted key inside the stage's options ('' for the stage itself). */
  key: string;
  message: string;
}

export class StageConfigError extends Error {
  readonly problems: OptionProblem[];
  constructor(problems: OptionProblem[]) {
    super(problems.map((p) => (p.key ? `${p.key}: ${p.message}` : p.message)).join('; '));
    this.name = 'StageConfigError';
    this.problems = problems;
  }
}

export function parseStageOptions<S extends z.ZodType>(schema: S, options: unknown): z.output<S> {
  const result = schema.safeParse(options);
  if (result.success) return result.data;
  throw new StageConfigError(
    result.error.issues.flatMap((issue) => {
      const base = issue.path.map(String);
      if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ key: [...base, k].join('.'), message: 'unknown key' }));
      return [{ key: base.join('.'), message: issue.message }];
    }),
  );
}

/** A user regex, or a StageConfigError naming the key it came from. */
export function regexOption(key: string, pattern: string, options?: UserRegexOptions): UserRegex {
  try {
    return compileUserRegex(pattern, options);
  } catch (err) {
    if (err instanceof UnsafeRegexError) throw new StageConfigError([{ key, message: err.message }]);
    throw err;
  }
}

/** A value or a list of values, as a list. */
export const listOf = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

export type FieldPath = { kind: 'core'; name: (typeof STRING_FIELDS)[number] } | { kind: 'attr'; path: string[] };

const CORE_STRINGS: ReadonlySet<string> = new Set(STRING_FIELDS);

/** `message`, `raw`, `host`, ... or `attrs.a.b`. */
export const fieldOption = () =>
  z.string().transform((text, ctx): FieldPath => {
    if (text.startsWith('attrs.') && text.length > 6 && !text.endsWith('.') && !text.includes('..')) return { kind: 'attr', path: text.slice(6).split('.') };
    if (CORE_STRINGS.has(text)) return { kind: 'core', name: text as (typeof STRING_FIELDS)[number] };
    ctx.addIssue({ code: 'custom', message: `expected a core text field (${STRING_FIELDS.join(', ')}) or attrs.NAME, got ${JSON.stringify(text)}` });
    return z.NEVER;
  });

export function readField(r: LogRecord, field: FieldPath): JsonValue | undefined {
  if (field.kind === 'core') return r[field.name] ?? undefined;
  return attrAt(r.attrs, field.path);
}

/** The text of a field, or undefined when it is absent or not text. */
export function readText(r: LogRecord, field: FieldPath): string | undefined {
  const v = readField(r, field);
  return typeof v === 'string' ? v : undefined;
}

/** The object at attrs.<path>, created when absent; null when something else is in the way. */
export function attrsObjectAt(attrs: Attrs, path: readonly string[]): Attrs | null {
  let node = attrs;
  for (const key of path) {
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (next === undefined) {
      const child: Attrs = {};
      putOwn(node, key, child);
      node = child;
    } else if (typeof next === 'object' && next !== null && !Array.isArray(next)) node = next;
    else return null;
  }
  return node;
}
