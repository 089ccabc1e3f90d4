/**
 * The `filter` stage: drop or keep records by a query in the search syntax
 * (`severity=debug env:production`), evaluated in process by the query
 * evaluator, and sample 1 in N of the records a query selects. Kept samples
 * carry attrs.sample_rate = N, so counts can be scaled back up.
 *
 * Regexes and globs in these queries come from configuration and run on every
 * record, so before the evaluator sees them they are rewritten into patterns
 * V8's linear-time engine can run (see ../regex.ts): a regex that cannot be
 * rewritten so is a configuration error naming the key.
 */
import { z } from 'zod';
import type { LogRecord } from '../../record/record.ts';
import type { Expr } from '../../query/ast.ts';
import { parseSearch, QueryParseError } from '../../query/search.ts';
import { compileMatcher } from '../../query/evaluate.ts';
import { escapeRegex, re2ToJs } from '../../query/regex.ts';
import { QueryInputError } from '../../store/store.ts';
import { stages, type Stage, type StageContext } from '../pipeline.ts';
import { parseStageOptions, StageConfigError } from '../options.ts';
import { foldAsciiCase } from '../regex.ts';

type RecordMatcher = ReturnType<typeof compileMatcher>;

const optionsSchema = z
  .strictObject({
    type: z.literal('filter'),
    drop: z.string().min(1).optional(),
    keep: z.string().min(1).optional(),
    sample: z
      .strictObject({
        one_in: z.number().int().min(2),
        where: z.string().min(1).optional(),
      })
      .optional(),
  })
  .refine((o) => o.drop !== undefined || o.keep !== undefined || o.sample !== undefined, { message: 'give drop, keep or sample (or several)' });

/** A pattern the evaluator will compile with no flags but `s`, checked to run on V8's linear engine. */
function linearPattern(jsSource: string, dotAll: boolean): string {
  new RegExp(jsSource, (dotAll ? 's' : '') + 'l');
  return (dotAll ? '(?s)' : '') + jsSource;
}

/** Regex and glob nodes rewritten so the evaluator's RegExps stay linear; throws a message for what cannot be. */
export function boundedExpr(expr: Expr): Expr {
  switch (expr.type) {
    case 'and':
    case 'or':
      return { ...expr, items: expr.items.map(boundedExpr) };
    case 'not':
      return { ...expr, item: boundedExpr(expr.item) };
    case 'regex': {
      const { source, flags } = re2ToJs(expr.pattern);
      const folded = flags.includes('i') ? foldAsciiCase(source) : source;
      try {
        return { ...expr, pattern: linearPattern(folded, flags.includes('s')) };
      } catch {
        throw new QueryInputError(
          `regex ${JSON.stringify(expr.pattern)} cannot run in linear time in a filter (backreferences, lookahead or counted repetition above 16 such as {32}); write it without those`,
        );
      }
    }
    case 'glob': {
      const source = expr.pattern
        .split('*')
        .map((part) => part.split('?').map(escapeRegex).join('.'))
        .join('.*');
      return { type: 'regex', field: expr.field, pattern: linearPattern(expr.caseInsensitive ? foldAsciiCase(source) : source, true), anchored: true };
    }
    default:
      return expr;
  }
}

function matcherOption(key: string, query: string): RecordMatcher {
  try {
    return compileMatcher(boundedExpr(parseSearch(query)));
  } catch (err) {
    if (err instanceof QueryParseError || err instanceof QueryInputError) throw new StageConfigError([{ key, message: `${JSON.stringify(query)}: ${err.message}` }]);
    throw err;
  }
}

export function createFilterStage(raw: unknown, ctx: StageContext): Stage {
  const o = parseStageOptions(optionsSchema, raw);
  const problems: StageConfigError[] = [];
  const build = (key: string, query: string | undefined): RecordMatcher | null => {
    if (query === undefined) return null;
    try {
      return matcherOption(key, query);
    } catch (err) {
      if (err instanceof StageConfigError) problems.push(err);
      else throw err;
      return null;
    }
  };
  const keep = build('keep', o.keep);
  const drop = build('drop', o.drop);
  const sampleWhere = o.sample ? (build('sample.where', o.sample.where) ?? (() => true)) : null;
  if (problems.length > 0) throw new StageConfigError(problems.flatMap((p) => p.problems));
  const oneIn = o.sample?.one_in ?? 0;
  const { report } = ctx;
  let seen = 0;

  return {
    name: 'filter',
    process(records: LogRecord[]): LogRecord[] {
      const out: LogRecord[] = [];
      let filtered = 0;
      let sampled = 0;
      for (const r of records) {
        try {
          if ((keep && !keep(r)) || (drop && drop(r))) {
            filtered++;
            continue;
          }
          if (sampleWhere?.(r)) {
            // The first of every N selected records is kept; its rate says how many it stands for.
            if (seen++ % oneIn !== 0) {
              sampled++;
              continue;
            }
            r.attrs.sample_rate = oneIn;
          }
        } catch (err) {
          report.failed(r, err);
        }
        out.push(r);
      }
      report.dropped('filter', filtered);
      report.dropped('sampled', sampled);
      return out;
    },
  };
}

stages.register('filter', createFilterStage);
