/**
 * Just enough of Prometheus to check the alert rules in deploy/prometheus-alerts.yml
 * against what /metrics serves, without a Prometheus server:
 *
 * - `parseExposition`: the text format /metrics answers (one scrape → samples).
 * - `readAlertRules`: the alerting rules of the rules file (read with the `yaml` package).
 * - `evaluate` / `alertState`: a PromQL evaluator for the subset the rules use, over a
 *   series of scrapes taken at known times. Supported: vector selectors with `=`, `!=`,
 *   `=~`, `!~` matchers; range selectors inside `rate`/`increase`; `time()`; `sum`, `max`,
 *   `min`, `count`, `avg` without grouping; `+ - * / %` and the six comparisons (filtering,
 *   no `bool`) between scalars and vectors, vectors matched one-to-one on their labels.
 *   Anything else (`by`, `without`, `on`, `offset`, `and`/`or`, other functions…) throws
 *   instead of being guessed at, so a rule edited into unsupported syntax fails its test.
 *
 * Deliberate simplifications, each on the safe side for "does this alert fire":
 * `rate`/`increase` take the counter's change between the first and last point in the
 * window (resets handled) without Prometheus' extrapolation to the window's edges, which
 * changes the magnitude slightly but never the sign; an instant selector takes a series'
 * latest sample less than 5 minutes old (Prometheus' default lookback); windows are
 * left-open, (t - range, t], as in Prometheus 3.
 */
import { parse as parseYaml } from 'yaml';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A scrape: its samples and when it was taken (epoch ms). */
export interface Scrape {
  at: number;
  samples: Sample[];
}

function parseSampleValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`unparsable sample value: ${text}`);
  return value;
}

function unescapeLabel(text: string): string {
  return text.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses the Prometheus text exposition format into metric families (from `# TYPE`) and samples. */
export function parseExposition(text: string): { families: Set<string>; samples: Sample[] } {
  const families = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) families.add(type[1]!);
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!match) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = unescapeLabel(pair[2]!);
    samples.push({ name: match[1]!, labels, value: parseSampleValue(match[3]!) });
  }
  return { families, samples };
}

// --- Rules file ------------------------------------------------------------------------------

export interface AlertRule {
  group: string;
  alert: string;
  expr: string;
  /** The `for:` duration in ms (0 when absent). */
  forMs: number;
}

/** The alerting rules of a Prometheus rules file (recording rules are refused: none are expected). */
export function readAlertRules(yamlText: string): AlertRule[] {
  const doc = parseYaml(yamlText, { strict: true, uniqueKeys: true }) as {
    groups?: Array<{ name?: string; rules?: Array<Record<string, unknown>> }>;
  };
  if (!Array.isArray(doc?.groups)) throw new Error('rules file: no groups');
  return doc.groups.flatMap((group) =>
    (group.rules ?? []).map((rule) => {
      if (typeof rule.alert !== 'string' || typeof rule.expr !== 'string')
        throw new Error(`rules file: not an alerting rule: ${JSON.stringify(rule)}`);
      return {
        group: String(group.name),
        alert: rule.alert,
        expr: rule.expr,
        forMs: rule.for === undefined || rule.for === null ? 0 : parseDuration(String(rule.for)),
      };
    }),
  );
}

// --- PromQL (the subset the rules use) ----------------------------------------------------------

const LOOKBACK_MS = 5 * 60_000;
const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** A Prometheus duration: `15m`, `1h30m`, `500ms`. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text)
    throw new Error(`unsupported PromQL: duration ${JSON.stringify(text)}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
}

type Labels = Record<string, string>;
interface VectorSample {
  labels: Labels;
  value: number;
}
type Value =
  | { kind: 'scalar'; value: number }
  | { kind: 'vector'; samples: VectorSample[] }
  | { kind: 'matrix'; series: Array<{ labels: Labels; points: Array<{ at: number; value: number }> }> };

interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

type Node =
  | { type: 'number'; value: number }
  | { type: 'selector'; matchers: Matcher[]; rangeMs?: number }
  | { type: 'call'; fn: 'rate' | 'increase' | 'time'; args: Node[] }
  | { type: 'aggregate'; op: 'sum' | 'max' | 'min' | 'count' | 'avg'; arg: Node }
  | { type: 'binary'; op: string; lhs: Node; rhs: Node }
  | { type: 'negate'; arg: Node };

const AGGREGATIONS = new Set(['sum', 'max', 'min', 'count', 'avg']);
const FUNCTIONS = new Set(['rate', 'increase', 'time']);
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'atan2',
]);
const COMPARISONS = ['==', '!=', '>=', '<=', '>', '<'];

/** Parses a PromQL expression of the supported subset; throws on anything else. */
export function parsePromQL(expr: string): Node {
  let pos = 0;
  const fail = (message: string): never => {
    throw new Error(`unsupported PromQL at ${pos} in ${JSON.stringify(expr)}: ${message}`);
  };
  const skip = () => {
    while (pos < expr.length && /\s/.test(expr[pos]!)) pos += 1;
  };
  const peek = (s: string) => {
    skip();
    return expr.startsWith(s, pos);
  };
  const eat = (s: string) => {
    if (!peek(s)) fail(`expected ${JSON.stringify(s)}`);
    pos += s.length;
  };
  const identifier = (): string | undefined => {
    skip();
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(pos));
    return m?.[0];
  };
  const stringLiteral = (): string => {
    skip();
    const quote = expr[pos];
    if (quote === '`') {
      const end = expr.indexOf('`', pos + 1);
      if (end < 0) fail('unterminated string');
      const s = expr.slice(pos + 1, end);
      pos = end + 1;
      return s;
    }
    if (quote !== '"' && quote !== "'") return fail('expected a string');
    const m = new RegExp(`^${quote}((?:[^${quote}\\\\]|\\\\.)*)${quote}`).exec(expr.slice(pos));
    if (!m) return fail('unterminated string');
    pos += m[0].length;
    return m[1]!.replace(
      /\\(.)/g,
      (_x, c: string) => ({ n: '\n', t: '\t', '\\': '\\', '"': '"', "'": "'" })[c] ?? fail(`escape \\${c}`),
    );
  };

  function primary(): Node {
    skip();
    if (peek('(')) {
      eat('(');
      const inner = comparison();
      eat(')');
      return inner;
    }
    if (peek('-')) {
      eat('-');
      return { type: 'negate', arg: primary() };
    }
    const num = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/.exec(expr.slice(pos));
    if (num) {
      pos += num[0].length;
      if (/^[a-zA-Z]/.test(expr.slice(pos))) fail('durations are only supported inside [ ]');
      return { type: 'number', value: Number(num[0]) };
    }
    const name = identifier();
    if (peek('{') && name === undefined) return selector(undefined);
    if (name === undefined) return fail('expected an expression');
    if (KEYWORDS.has(name)) fail(`keyword ${name}`);
    pos += name.length;
    if (AGGREGATIONS.has(name)) {
      if (identifier() === 'by' || identifier() === 'without') fail(`grouping (${identifier()})`);
      eat('(');
      const arg = comparison();
      if (peek(',')) fail(`${name} with a parameter`);
      eat(')');
      if (identifier() === 'by' || identifier() === 'without') fail(`grouping (${identifier()})`);
      return { type: 'aggregate', op: name as 'sum', arg };
    }
    if (peek('(')) {
      if (!FUNCTIONS.has(name)) fail(`function ${name}`);
      eat('(');
      const args: Node[] = [];
      if (!peek(')')) {
        args.push(comparison());
        while (peek(',')) {
          eat(',');
          args.push(comparison());
        }
      }
      eat(')');
      if (name === 'time' && args.length !== 0) fail('time() takes no argument');
      if (name !== 'time' && (args.length !== 1 || args[0]!.type !== 'selector' || args[0]!.rangeMs === undefined))
        fail(`${name} takes one range vector selector`);
      return { type: 'call', fn: name as 'rate', args };
    }
    return selector(name);
  }

  function selector(name: string | undefined): Node {
    const matchers: Matcher[] = name === undefined ? [] : [{ label: '__name__', op: '=', value: name }];
    if (peek('{')) {
      eat('{');
      while (!peek('}')) {
        const label = identifier() ?? fail('expected a label name');
        pos += label.length;
        skip();
        const op =
          (['=~', '!~', '!=', '='] as const).find((o) => expr.startsWith(o, pos)) ??
          fail('expected a matcher operator');
        pos += op.length;
        const value = stringLiteral();
        if (op === '=~' || op === '!~') new RegExp(value); // throws on an invalid regex
        matchers.push({ label, op, value });
        if (!peek('}')) eat(',');
      }
      eat('}');
    }
    if (!matchers.some((m) => m.label === '__name__')) fail('a selector without a metric name');
    let rangeMs: number | undefined;
    if (peek('[')) {
      eat('[');
      const end = expr.indexOf(']', pos);
      if (end < 0) fail('unterminated range');
      const inside = expr.slice(pos, end).trim();
      if (inside.includes(':')) fail('subqueries');
      rangeMs = parseDuration(inside);
      pos = end + 1;
    }
    if (identifier() === 'offset' || peek('@')) fail('offset and @ modifiers');
    return { type: 'selector', matchers, rangeMs };
  }

  function binaryLevel(next: () => Node, ops: string[]): () => Node {
    return () => {
      let lhs = next();
      for (;;) {
        skip();
        if (expr.startsWith('^', pos)) fail('the ^ operator');
        const op = ops.find((o) => expr.startsWith(o, pos)); // longest first: >= before >
        if (!op) return lhs;
        pos += op.length;
        const modifier = identifier();
        if (modifier && KEYWORDS.has(modifier)) fail(`keyword ${modifier}`);
        lhs = { type: 'binary', op, lhs, rhs: next() };
      }
    };
  }
  const multiplicative = binaryLevel(primary, ['*', '/', '%']);
  const additive = binaryLevel(multiplicative, ['+', '-']);
  const comparison = binaryLevel(additive, COMPARISONS);

  const root = comparison();
  skip();
  const trailing = identifier();
  if (trailing && KEYWORDS.has(trailing)) fail(`keyword ${trailing}`);
  if (pos !== expr.length) fail(`unexpected ${JSON.stringify(expr.slice(pos))}`);
  return root;
}

function matches(labels: Labels, matcher: Matcher): boolean {
  const value = labels[matcher.label] ?? '';
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return new RegExp(`^(?:${matcher.value})$`).test(value);
    case '!~':
      return !new RegExp(`^(?:${matcher.value})$`).test(value);
  }
}

const seriesKey = (labels: Labels) =>
  JSON.stringify(
    Object.entries(labels)
      .filter(([, v]) => v !== '')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
const withoutName = (labels: Labels): Labels =>
  Object.fromEntries(Object.entries(labels).filter(([k]) => k !== '__name__'));

function arithmetic(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
  }
  throw new Error(`unsupported PromQL: operator ${op}`);
}

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
  }
  throw new Error(`unsupported PromQL: operator ${op}`);
}

/** The points of every series in `scrapes` matching `matchers`, taken in (from, to]. */
function seriesPoints(
  scrapes: readonly Scrape[],
  matchers: Matcher[],
  from: number,
  to: number,
): Array<{ labels: Labels; points: Array<{ at: number; value: number }> }> {
  const series = new Map<string, { labels: Labels; points: Array<{ at: number; value: number }> }>();
  for (const scrape of [...scrapes].sort((a, b) => a.at - b.at)) {
    if (scrape.at <= from || scrape.at > to) continue;
    for (const sample of scrape.samples) {
      const labels = { __name__: sample.name, ...sample.labels };
      if (!matchers.every((m) => matches(labels, m))) continue;
      const key = seriesKey(labels);
      const entry = series.get(key) ?? { labels, points: [] as Array<{ at: number; value: number }> };
      entry.points.push({ at: scrape.at, value: sample.value });
      series.set(key, entry);
    }
  }
  return [...series.values()];
}

function evaluateNode(node: Node, scrapes: readonly Scrape[], at: number): Value {
  switch (node.type) {
    case 'number':
      return { kind: 'scalar', value: node.value };
    case 'negate': {
      const v = evaluateNode(node.arg, scrapes, at);
      if (v.kind === 'scalar') return { kind: 'scalar', value: -v.value };
      if (v.kind === 'vector')
        return { kind: 'vector', samples: v.samples.map((s) => ({ labels: withoutName(s.labels), value: -s.value })) };
      throw new Error('unsupported PromQL: negating a range vector');
    }
    case 'selector': {
      if (node.rangeMs !== undefined)
        return { kind: 'matrix', series: seriesPoints(scrapes, node.matchers, at - node.rangeMs, at) };
      const series = seriesPoints(scrapes, node.matchers, at - LOOKBACK_MS, at);
      return { kind: 'vector', samples: series.map((s) => ({ labels: s.labels, value: s.points.at(-1)!.value })) };
    }
    case 'call': {
      if (node.fn === 'time') return { kind: 'scalar', value: at / 1000 };
      const m = evaluateNode(node.args[0]!, scrapes, at);
      if (m.kind !== 'matrix') throw new Error(`unsupported PromQL: ${node.fn} of a non-range`);
      const samples: VectorSample[] = [];
      for (const s of m.series) {
        if (s.points.length < 2) continue;
        let increase = 0;
        for (let i = 1; i < s.points.length; i++) {
          const [prev, cur] = [s.points[i - 1]!.value, s.points[i]!.value];
          increase += cur >= prev ? cur - prev : cur; // a counter reset starts again from 0
        }
        const seconds = (s.points.at(-1)!.at - s.points[0]!.at) / 1000;
        samples.push({ labels: withoutName(s.labels), value: node.fn === 'rate' ? increase / seconds : increase });
      }
      return { kind: 'vector', samples };
    }
    case 'aggregate': {
      const v = evaluateNode(node.arg, scrapes, at);
      if (v.kind !== 'vector') throw new Error(`unsupported PromQL: ${node.op} of a ${v.kind}`);
      if (v.samples.length === 0) return { kind: 'vector', samples: [] };
      const values = v.samples.map((s) => s.value);
      const sum = values.reduce((a, b) => a + b, 0);
      const value = {
        sum,
        max: Math.max(...values),
        min: Math.min(...values),
        count: values.length,
        avg: sum / values.length,
      }[node.op];
      return { kind: 'vector', samples: [{ labels: {}, value }] };
    }
    case 'binary': {
      const lhs = evaluateNode(node.lhs, scrapes, at);
      const rhs = evaluateNode(node.rhs, scrapes, at);
      const isComparison = COMPARISONS.includes(node.op);
      if (lhs.kind === 'matrix' || rhs.kind === 'matrix')
        throw new Error('unsupported PromQL: an operator on a range vector');
      if (lhs.kind === 'scalar' && rhs.kind === 'scalar') {
        if (isComparison) throw new Error('unsupported PromQL: comparing two scalars needs bool');
        return { kind: 'scalar', value: arithmetic(node.op, lhs.value, rhs.value) };
      }
      if (lhs.kind === 'vector' && rhs.kind === 'vector') {
        const right = new Map<string, VectorSample>();
        for (const s of rhs.samples) {
          const key = seriesKey(withoutName(s.labels));
          if (right.has(key)) throw new Error('unsupported PromQL: many-to-one matching');
          right.set(key, s);
        }
        const seen = new Set<string>();
        const samples: VectorSample[] = [];
        for (const l of lhs.samples) {
          const key = seriesKey(withoutName(l.labels));
          if (seen.has(key)) throw new Error('unsupported PromQL: one-to-many matching');
          seen.add(key);
          const r = right.get(key);
          if (!r) continue;
          if (isComparison) {
            if (compare(node.op, l.value, r.value)) samples.push(l);
          } else {
            samples.push({ labels: withoutName(l.labels), value: arithmetic(node.op, l.value, r.value) });
          }
        }
        return { kind: 'vector', samples };
      }
      const vector = (lhs.kind === 'vector' ? lhs : rhs) as Extract<Value, { kind: 'vector' }>;
      const scalar = (lhs.kind === 'scalar' ? lhs : rhs) as Extract<Value, { kind: 'scalar' }>;
      const operands = (s: VectorSample): [number, number] =>
        lhs.kind === 'vector' ? [s.value, scalar.value] : [scalar.value, s.value];
      if (isComparison)
        return { kind: 'vector', samples: vector.samples.filter((s) => compare(node.op, ...operands(s))) };
      return {
        kind: 'vector',
        samples: vector.samples.map((s) => ({
          labels: withoutName(s.labels),
          value: arithmetic(node.op, ...operands(s)),
        })),
      };
    }
  }
}

/** Evaluates `expr` at time `at` (epoch ms; default: the last scrape's time) over `scrapes`. */
export function evaluate(expr: string, scrapes: readonly Scrape[], at = Math.max(...scrapes.map((s) => s.at))): Value {
  return evaluateNode(parsePromQL(expr), scrapes, at);
}

export interface AlertState {
  state: 'inactive' | 'pending' | 'firing';
  /** The alert's values at the last evaluation (empty when inactive). */
  values: number[];
}

/**
 * A rule's state after being evaluated at every scrape's time, as Prometheus evaluates rules
 * periodically: pending from the first evaluation that returns samples, firing once that has
 * held for `for` without a gap, inactive as soon as an evaluation returns nothing.
 */
export function alertState(rule: Pick<AlertRule, 'expr' | 'forMs'>, scrapes: readonly Scrape[]): AlertState {
  const node = parsePromQL(rule.expr);
  let activeSince: number | undefined;
  let values: number[] = [];
  const times = [...new Set(scrapes.map((s) => s.at))].sort((a, b) => a - b);
  for (const at of times) {
    const result = evaluateNode(node, scrapes, at);
    if (result.kind !== 'vector')
      throw new Error(`unsupported PromQL: an alert expression must give a vector: ${rule.expr}`);
    values = result.samples.map((s) => s.value);
    if (values.length === 0) activeSince = undefined;
    else activeSince ??= at;
  }
  if (activeSince === undefined) return { state: 'inactive', values: [] };
  return { state: times.at(-1)! - activeSince >= rule.forMs ? 'firing' : 'pending', values };
}
