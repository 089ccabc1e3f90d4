/**
 * LogQL as a tree: log queries (a stream selector and a pipeline) and metric
 * queries (range aggregations, vector aggregations, arithmetic). plan.ts maps
 * what it can onto the core AST (store filters); pipeline.ts runs the rest.
 */
import type { NumericOp } from '../ast.ts';
import { QueryInputError } from '../../store/store.ts';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
}

export type LineFilterOp = '|=' | '!=' | '|~' | '!~' | '|>' | '!>';

/** `|= "a" or "b"`: any of the values (for the negated ops: none of them). */
export interface LineFilter {
  op: LineFilterOp;
  values: string[];
}

export type LabelFilter =
  | { type: 'and' | 'or'; left: LabelFilter; right: LabelFilter }
  | { type: 'string'; name: string; op: MatchOp; value: string }
  | { type: 'number'; name: string; op: NumericOp; value: number }
  | { type: 'duration'; name: string; op: NumericOp; seconds: number; text: string }
  | { type: 'bytes'; name: string; op: NumericOp; bytes: number; text: string };

export interface JsonParam {
  name: string;
  /** The expression as written (a.b[0]). */
  expr: string;
  path: (string | number)[];
}

export type Stage =
  | { type: 'line_filter'; filter: LineFilter }
  | { type: 'json'; params: JsonParam[] }
  | { type: 'logfmt'; strict: boolean; keepEmpty: boolean; params: { name: string; key: string }[] }
  | { type: 'regexp'; pattern: string }
  | { type: 'pattern'; pattern: string }
  | { type: 'label_filter'; filter: LabelFilter }
  | { type: 'line_format'; template: string }
  | { type: 'label_format'; items: { name: string; rename?: string; template?: string }[] }
  | { type: 'drop' | 'keep'; items: { name: string; matcher?: LabelMatcher }[] }
  | { type: 'decolorize' };

export interface LogSelector {
  matchers: LabelMatcher[];
  stages: Stage[];
}

export const RANGE_FUNCTIONS = ['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate'] as const;
export type RangeFn = (typeof RANGE_FUNCTIONS)[number];

export const AGG_OPS = ['sum', 'avg', 'min', 'max', 'count', 'topk', 'bottomk', 'stddev', 'stdvar', 'sort', 'sort_desc'] as const;
export type AggOp = (typeof AGG_OPS)[number];

type ArithOp = '+' | '-' | '*' | '/' | '%' | '^';
type CmpOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type BinOp = ArithOp | CmpOp;

export interface Grouping {
  without: boolean;
  labels: string[];
}

export type MetricExpr =
  | { type: 'range_agg'; fn: RangeFn; selector: LogSelector; rangeNs: bigint; rangeText: string }
  | { type: 'vector_agg'; op: AggOp; param?: number; grouping?: Grouping; inner: MetricExpr }
  | { type: 'binary'; op: BinOp; bool: boolean; left: MetricExpr; right: MetricExpr }
  | { type: 'number'; value: number }
  | { type: 'vector'; value: number }
  | { type: 'paren'; inner: MetricExpr };

export type LogQLQuery = { kind: 'log'; selector: LogSelector } | { kind: 'metric'; expr: MetricExpr };

/** A construct Cairn does not implement: the API answers 400 naming it. */
export class UnsupportedQueryError extends QueryInputError {
  readonly construct: string;
  constructor(construct: string, hint = '') {
    super(`unsupported LogQL: ${construct}${hint ? ` (${hint})` : ''}`);
    this.construct = construct;
  }
}

/** A query over a configured limit (series, rows a post-filter reads): 400 naming the limit. */
export class QueryLimitError extends QueryInputError {
  readonly limit: string;
  constructor(message: string, limit: string) {
    super(`${message} (${limit})`);
    this.limit = limit;
  }
}
