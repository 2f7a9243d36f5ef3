/**
 * The series selectors of a PromQL expression, for the tests that check that the dashboard and the
 * alerts name only metrics the controller serves. Not a PromQL parser (promtool checks the syntax,
 * test/docs/monitoring.test.ts); a lexer just good enough for the expressions we write.
 */

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'atan2',
  'inf',
  'nan',
]);

/** Aggregation operators: a by/without clause may come between them and their "(". */
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

export interface Selector {
  metric: string;
  labels: string[];
}

/**
 * The series selectors of a PromQL expression: each metric name with the label names it matches on.
 * A small lexer, enough for the expressions we write: function and aggregation names are followed
 * by "(", label lists follow by/without/on/ignoring, durations sit in [...], strings in quotes.
 */
export function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  let i = 0;
  let previous = '';
  const skipSpace = () => {
    while (i < expr.length && /\s/.test(expr[i] ?? '')) i++;
  };
  while (i < expr.length) {
    const c = expr[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = expr.indexOf(c, i + 1);
      i = end < 0 ? expr.length : end + 1;
      previous = 'string';
      continue;
    }
    if (c === '[') {
      i = expr.indexOf(']', i) + 1;
      previous = ']';
      continue;
    }
    if (c === '{') {
      // A selector without a metric name ({__name__=...}) is not used here.
      let end = i + 1;
      for (let quote = ''; end < expr.length; end++) {
        const d = expr[end] ?? '';
        if (quote) {
          if (d === '\\') end++;
          else if (d === quote) quote = '';
        } else if (d === '"' || d === "'") quote = d;
        else if (d === '}') break;
      }
      const body = expr.slice(i + 1, end);
      const labels = [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g)].map(
        (m) => m[1] ?? '',
      );
      const last = out[out.length - 1];
      if (previous === 'metric' && last) last.labels.push(...labels);
      else throw new Error(`selector without a metric name in ${expr}`);
      i = end + 1;
      previous = '}';
      continue;
    }
    const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))?.[0];
    if (ident) {
      i += ident.length;
      skipSpace();
      const lower = ident.toLowerCase();
      if (['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'].includes(lower)) {
        if (expr[i] === '(') i = expr.indexOf(')', i) + 1;
        previous = 'keyword';
      } else if (expr[i] === '(' || KEYWORDS.has(lower) || AGGREGATIONS.has(lower)) {
        previous = 'function';
      } else {
        out.push({ metric: ident, labels: [] });
        previous = 'metric';
      }
      continue;
    }
    i++;
    previous = c;
  }
  return out;
}
