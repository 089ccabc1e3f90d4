/** LogQL tokens: names, strings ("..." with Go escapes, `raw`), numbers, durations, byte sizes, operators. */
import { QueryParseError } from '../search.ts';

type TokenKind = 'ident' | 'string' | 'number' | 'duration' | 'bytes' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Identifier, operator text, string contents, or the number/duration/bytes as written. */
  text: string;
  pos: number;
}

const OPERATORS = ['|=', '|~', '|>', '!=', '!~', '!>', '=~', '==', '>=', '<=', '{', '}', '(', ')', '[', ']', ',', '|', '=', '>', '<', '+', '-', '*', '/', '%', '^'];

const DURATION_UNITS = /^(?:ns|us|µs|ms|s|m|h|d|w|y)/;
const BYTE_UNITS = /^(?:[kKmMgGtTpPeE]i?[bB]|[bB])(?![A-Za-z0-9_])/;

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (c === '"') {
      let out = '';
      i++;
      for (;;) {
        if (i >= n) throw new QueryParseError('unterminated string', start, 'a closing "');
        const ch = text[i]!;
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === '\\') {
          const [value, len] = goEscape(text, i);
          out += value;
          i += len;
          continue;
        }
        out += ch;
        i++;
      }
      tokens.push({ kind: 'string', text: out, pos: start });
      continue;
    }
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) throw new QueryParseError('unterminated raw string', start, 'a closing `');
      tokens.push({ kind: 'string', text: text.slice(i + 1, end), pos: start });
      i = end + 1;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const num = /^(?:0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/.exec(text.slice(i))![0];
      let j = i + num.length;
      const rest = text.slice(j);
      if (!/^[eE]/.test(rest) && DURATION_UNITS.test(rest) && !BYTE_UNITS.test(rest)) {
        // 1h30m, 500ms, 1.5s
        const dur = /^(?:(?:\d+(?:\.\d+)?)?(?:ns|us|µs|ms|s|m|h|d|w|y))+/.exec(rest)![0];
        j += dur.length;
        tokens.push({ kind: 'duration', text: text.slice(i, j), pos: start });
      } else if (BYTE_UNITS.test(rest)) {
        j += BYTE_UNITS.exec(rest)![0].length;
        tokens.push({ kind: 'bytes', text: text.slice(i, j), pos: start });
      } else {
        tokens.push({ kind: 'number', text: num, pos: start });
      }
      i = j;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0];
      tokens.push({ kind: 'ident', text: m, pos: start });
      i += m.length;
      continue;
    }
    if (c === '$') throw new QueryParseError('a Grafana variable was not replaced', start, 'a value instead of a $variable');
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) throw new QueryParseError(`unexpected character ${JSON.stringify(c)}`, start, 'a LogQL expression');
    tokens.push({ kind: 'op', text: op, pos: start });
    i += op.length;
  }
  tokens.push({ kind: 'eof', text: '', pos: n });
  return tokens;
}

/** One Go string escape at text[i] === '\\'; returns the value and the characters consumed. */
function goEscape(text: string, i: number): [string, number] {
  const e = text[i + 1];
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
  if (e !== undefined && e in simple) return [simple[e]!, 2];
  const hex = (len: number) => {
    const h = text.slice(i + 2, i + 2 + len);
    if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) throw new QueryParseError('bad escape in string', i, `\\${e} followed by ${len} hex digits`);
    return Number.parseInt(h, 16);
  };
  if (e === 'x') return [String.fromCharCode(hex(2)), 4];
  if (e === 'u') return [String.fromCodePoint(hex(4)), 6];
  if (e === 'U') return [String.fromCodePoint(hex(8)), 10];
  if (e !== undefined && /[0-7]/.test(e)) {
    const o = text.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(o)) throw new QueryParseError('bad octal escape in string', i, 'three octal digits');
    return [String.fromCharCode(Number.parseInt(o, 8)), 4];
  }
  // Regexes inside strings are usually written with doubled backslashes; an unknown escape is an error in Go.
  throw new QueryParseError(`unknown escape \\${e ?? ''} in string`, i, 'a valid escape (use `raw strings` for regexes)');
}

/** Go/Prometheus durations: 1h30m, 500ms, 1.5s → ns. */
export function parseDurationNs(text: string): bigint | undefined {
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9, d: 86400e9, w: 604800e9, y: 31536000e9 };
  if (!/^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return BigInt(Math.round(total));
}

/** Byte sizes as Loki reads them (humanize): KB = 1000, KiB = 1024. */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtTpPeE]?)(i?)[bB]?$/.exec(text.trim());
  if (!m) return undefined;
  const power = ' kmgtpe'.indexOf((m[2] || ' ').toLowerCase());
  const base = m[3] ? 1024 : 1000;
  return Number(m[1]) * base ** power;
}
