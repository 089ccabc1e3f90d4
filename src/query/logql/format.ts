/** LogQL AST → canonical LogQL text (/loki/api/v1/format_query, and the query shown back in errors). */
import type { LabelFilter, LogSelector, MetricExpr, Stage } from './ast.ts';

function quote(s: string): string {
  // Backslash-heavy values (regexes) read better raw; a raw string cannot hold a backtick.
  if (s.includes('\\') && !s.includes('`')) return `\`${s}\``;
  return JSON.stringify(s);
}

function formatLabelFilter(f: LabelFilter, parent?: 'and' | 'or'): string {
  switch (f.type) {
    case 'and':
    case 'or': {
      const text = `${formatLabelFilter(f.left, f.type)} ${f.type} ${formatLabelFilter(f.right, f.type)}`;
      return parent === 'and' && f.type === 'or' ? `(${text})` : text;
    }
    case 'string':
      return `${f.name}${f.op}${quote(f.value)}`;
    case 'number':
      return `${f.name}${f.op}${f.value}`;
    case 'duration':
    case 'bytes':
      return `${f.name}${f.op}${f.text}`;
  }
}

function formatStage(s: Stage): string {
  switch (s.type) {
    case 'line_filter':
      return `${s.filter.op} ${s.filter.values.map(quote).join(' or ')}`;
    case 'json':
      return s.params.length === 0 ? '| json' : `| json ${s.params.map((p) => `${p.name}=${quote(p.expr)}`).join(', ')}`;
    case 'logfmt': {
      const flags = `${s.strict ? ' --strict' : ''}${s.keepEmpty ? ' --keep-empty' : ''}`;
      const params = s.params.length === 0 ? '' : ` ${s.params.map((p) => `${p.name}=${quote(p.key)}`).join(', ')}`;
      return `| logfmt${flags}${params}`;
    }
    case 'regexp':
      return `| regexp ${quote(s.pattern)}`;
    case 'pattern':
      return `| pattern ${quote(s.pattern)}`;
    case 'label_filter':
      return `| ${formatLabelFilter(s.filter)}`;
    case 'line_format':
      return `| line_format ${quote(s.template)}`;
    case 'label_format':
      return `| label_format ${s.items.map((i) => `${i.name}=${i.rename ?? quote(i.template!)}`).join(', ')}`;
    case 'drop':
    case 'keep':
      return `| ${s.type} ${s.items.map((i) => (i.matcher ? `${i.name}${i.matcher.op}${quote(i.matcher.value)}` : i.name)).join(', ')}`;
    case 'decolorize':
      return '| decolorize';
  }
}

export function formatSelector(sel: LogSelector): string {
  const matchers = `{${sel.matchers.map((m) => `${m.name}${m.op}${quote(m.value)}`).join(', ')}}`;
  return [matchers, ...sel.stages.map(formatStage)].join(' ');
}

export function formatMetric(e: MetricExpr): string {
  switch (e.type) {
    case 'range_agg':
      return `${e.fn}(${formatSelector(e.selector)} [${e.rangeText}])`;
    case 'vector_agg': {
      const grouping = e.grouping ? ` ${e.grouping.without ? 'without' : 'by'} (${e.grouping.labels.join(', ')})` : '';
      const param = e.param !== undefined ? `${e.param}, ` : '';
      return `${e.op}${grouping} (${param}${formatMetric(e.inner)})`;
    }
    case 'binary':
      return `${formatMetric(e.left)} ${e.op}${e.bool ? ' bool' : ''} ${formatMetric(e.right)}`;
    case 'number':
      return String(e.value);
    case 'vector':
      return `vector(${e.value})`;
    case 'paren':
      return `(${formatMetric(e.inner)})`;
  }
}
