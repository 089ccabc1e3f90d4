/**
 * The `redact` stage: secrets and personal data are masked before a record
 * is stored. Built-in rules (rules.ts) and custom regexes are applied to the
 * message, raw and every text value in attrs (however deep), each match
 * replaced by the mask (`[REDACTED:email]` by default). attrs.redacted lists
 * the rules that fired, so masked records can be found.
 *
 * Fail closed: if redacting a record throws, its text fields are replaced by
 * a marker instead of being kept as they were, since a record that skipped
 * this stage could carry the very secret it exists to remove.
 */
import { z } from 'zod';
import type { Attrs, JsonValue, LogRecord } from '../../record/record.ts';
import { stages, type Stage, type StageContext } from '../pipeline.ts';
import { listOf, parseStageOptions, regexOption, StageConfigError, type OptionProblem } from '../options.ts';
import { RULE_NAMES, RULES, type RedactRule } from './rules.ts';

const optionsSchema = z.strictObject({
  type: z.literal('redact'),
  rules: listOf(z.string()).default(RULE_NAMES),
  custom: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'lower-case letters, digits and "_"'),
        regex: z.string().min(1),
        ignore_case: z.boolean().default(false),
      }),
    )
    .default([]),
  fields: listOf(z.enum(['message', 'raw', 'attrs'])).default(['message', 'raw', 'attrs']),
  mask: z.string().max(100).default('[REDACTED:{rule}]'),
  mark: z.boolean().default(true),
});

export const REDACTION_FAILED = '[REDACTED: redaction failed]';

interface CompiledRule {
  name: string;
  rule: RedactRule;
  mask: string;
}

export function createRedactStage(raw: unknown, ctx: StageContext): Stage {
  const o = parseStageOptions(optionsSchema, raw);
  const problems: OptionProblem[] = [];
  const rules: CompiledRule[] = [];
  const maskFor = (name: string) => o.mask.replaceAll('{rule}', name);
  o.rules.forEach((name, i) => {
    const rule = Object.hasOwn(RULES, name) ? RULES[name] : undefined;
    if (rule) rules.push({ name, rule, mask: maskFor(name) });
    else problems.push({ key: `rules.${i}`, message: `unknown rule ${JSON.stringify(name)} (built in: ${RULE_NAMES.join(', ')}; add your own under custom)` });
  });
  o.custom.forEach((c, i) => {
    try {
      const regex = regexOption(`custom.${i}.regex`, c.regex, { flags: 'g', ignoreCase: c.ignore_case });
      rules.push({ name: c.name, rule: { description: c.name, minLength: 1, trigger: () => true, regex }, mask: maskFor(c.name) });
    } catch (err) {
      if (err instanceof StageConfigError) problems.push(...err.problems);
      else throw err;
    }
  });
  if (problems.length > 0) throw new StageConfigError(problems);
  const { report } = ctx;
  const onMessage = o.fields.includes('message');
  const onRaw = o.fields.includes('raw');
  const onAttrs = o.fields.includes('attrs');

  /** The text with every rule applied; `fired` collects the names of rules that matched. */
  function redactText(text: string, fired: Set<string>): string {
    let out = text;
    for (const { name, rule, mask } of rules) {
      if (out.length < rule.minLength || !rule.trigger(out)) continue;
      const replacer = (match: string, ...rest: unknown[]) => {
        if (rule.confirm && !rule.confirm(match)) return match;
        fired.add(name);
        if (!rule.secretGroup) return mask;
        const groups = rest[rest.length - 1] as Record<string, string | undefined>;
        const secret = groups[rule.secretGroup];
        return secret === undefined ? mask : match.slice(0, match.length - secret.length) + mask;
      };
      out = rule.regex instanceof RegExp ? out.replace(rule.regex, replacer) : rule.regex.replace(out, replacer);
    }
    return out;
  }

  /** Every text value in attrs, without recursion (attrs from a sender can nest deeply). */
  function redactAttrs(attrs: Attrs, fired: Set<string>): void {
    const stack: (Attrs | JsonValue[])[] = [attrs];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) {
          const v = node[i]!;
          if (typeof v === 'string') node[i] = redactText(v, fired);
          else if (typeof v === 'object' && v !== null) stack.push(v);
        }
        continue;
      }
      for (const key in node) {
        const v = node[key]!;
        if (typeof v === 'string') node[key] = redactText(v, fired);
        else if (typeof v === 'object' && v !== null) stack.push(v);
      }
    }
  }

  return {
    name: 'redact',
    process(records: LogRecord[]): LogRecord[] {
      const fired = new Set<string>();
      for (const r of records) {
        try {
          fired.clear();
          if (onMessage) r.message = redactText(r.message, fired);
          if (onRaw && r.raw !== null) r.raw = redactText(r.raw, fired);
          if (onAttrs) redactAttrs(r.attrs, fired);
          if (o.mark && fired.size > 0) r.attrs.redacted = [...fired];
        } catch (err) {
          if (onMessage) r.message = REDACTION_FAILED;
          if (onRaw && r.raw !== null) r.raw = REDACTION_FAILED;
          if (onAttrs) r.attrs = {};
          report.failed(r, err);
        }
      }
      return records;
    },
  };
}

stages.register('redact', createRedactStage);
