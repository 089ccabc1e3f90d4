/**
 * Loki's stream labels as protobuf pushes carry them: the Prometheus text form
 * `{job="varlogs", host="web-1"}`, values quoted the way Go's strconv.Quote
 * writes them (Promtail, Alloy and the Loki clients all produce it that way).
 */

export class LabelSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelSyntaxError';
  }
}

const NAME_START = /[A-Za-z_]/;
const NAME_PART = /[A-Za-z0-9_.]/;
const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

/** Parses `{name="value", ...}`; throws LabelSyntaxError naming the position. */
export function parseLabels(text: string, maxLabels: number): Record<string, string> {
  const labels: Record<string, string> = Object.create(null);
  let count = 0;
  let i = skipSpace(text, 0);
  const fail = (what: string): never => {
    throw new LabelSyntaxError(`stream labels ${JSON.stringify(text.length > 200 ? text.slice(0, 200) + '…' : text)}: ${what} at offset ${i}`);
  };
  if (text[i] !== '{') fail('expected "{"');
  i = skipSpace(text, i + 1);
  if (text[i] === '}') return end(i);
  for (;;) {
    const nameStart = i;
    if (!NAME_START.test(text[i] ?? '')) fail('expected a label name');
    while (i < text.length && NAME_PART.test(text[i]!)) i++;
    const name = text.slice(nameStart, i);
    i = skipSpace(text, i);
    if (text[i] !== '=') fail('expected "="');
    i = skipSpace(text, i + 1);
    if (text[i] !== '"') fail('expected a quoted value');
    i++;
    let value = '';
    let run = i;
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('unterminated value');
      if (c === '"') break;
      if (c !== '\\') {
        i++;
        continue;
      }
      value += text.slice(run, i);
      const e = text[i + 1];
      if (e === undefined) fail('unterminated escape');
      const simple = SIMPLE_ESCAPES[e!];
      if (simple !== undefined) {
        value += simple;
        i += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const digits = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(i + 2, i + 2 + digits);
        if (!new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(hex)) fail(`bad \\${e} escape`);
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) fail(`bad \\${e} escape`);
        value += String.fromCodePoint(code);
        i += 2 + digits;
      } else if (/[0-7]/.test(e!)) {
        const oct = text.slice(i + 1, i + 4);
        if (!/^[0-7]{3}$/.test(oct)) fail('bad octal escape');
        value += String.fromCharCode(parseInt(oct, 8));
        i += 4;
      } else {
        fail(`unknown escape \\${e}`);
      }
      run = i;
    }
    value += text.slice(run, i);
    i = skipSpace(text, i + 1);
    if (++count > maxLabels) fail(`more than ${maxLabels} labels`);
    labels[name] = value;
    if (text[i] === ',') {
      i = skipSpace(text, i + 1);
      if (text[i] === '}') return end(i); // a trailing comma, as some hand-written clients send
      continue;
    }
    if (text[i] === '}') return end(i);
    fail('expected "," or "}"');
  }

  function end(at: number): Record<string, string> {
    i = skipSpace(text, at + 1);
    if (i !== text.length) fail('unexpected text after "}"');
    return labels;
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  return i;
}
