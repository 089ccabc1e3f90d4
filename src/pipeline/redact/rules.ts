/**
 * Built-in redaction rules. Each has a cheap trigger (substring tests that
 * rule out most lines before any regex runs) and a global regex; matches can
 * be confirmed by a check (Luhn for card numbers, a real IPv6 parse) so that
 * look-alikes stay readable. The regexes are written for linear behaviour:
 * runs start after a lookbehind boundary, quantifiers are bounded and
 * alternatives start differently (test/pipeline-bad-input.test.ts runs them
 * against hostile lines).
 */
import { isIPv6 } from 'node:net';
import type { UserRegex } from '../regex.ts';

export interface RedactRule {
  description: string;
  /** Shorter text cannot hold a match (checked before the trigger). */
  minLength: number;
  /** False when the text cannot contain a match (no regex runs then). */
  trigger: (text: string) => boolean;
  regex: UserRegex;
  /** Confirms a candidate; the rest of the match stays. */
  confirm?: (match: string) => boolean;
  /** Group that holds the secret; the rest of the match (a key, a scheme) stays readable. */
  secretGroup?: string;
}

function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro prefixes. */
const CARD_PREFIX = /^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9]|2)|35|3(?:0[0-5]|[689])|5[06-9]|6[0-9])/;

function isCardNumber(match: string): boolean {
  const digits = match.replace(/[ -]/g, '');
  return digits.length >= 13 && digits.length <= 19 && CARD_PREFIX.test(digits) && luhn(digits);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hasDigit(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (isDigit(text.charCodeAt(i))) return true;
  return false;
}

/** A digit, a dot, a digit somewhere: what every dotted quad has. */
function hasDottedDigits(text: string): boolean {
  for (let i = text.indexOf('.'); i > 0; i = text.indexOf('.', i + 1)) {
    if (isDigit(text.charCodeAt(i - 1)) && isDigit(text.charCodeAt(i + 1))) return true;
  }
  return false;
}

/** `::` or seven colons: what every IPv6 address has (and a clock time does not). */
function hasIpv6Colons(text: string): boolean {
  if (text.includes('::')) return true;
  let n = 0;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) if (++n >= 7) return true;
  return false;
}

/** Four octets, none above 255. */
function isIpv4(match: string): boolean {
  for (const octet of match.split('.')) if (Number(octet) > 255) return false;
  return true;
}

const SECRET_HINT = /pass|pwd|secret|key|token/i;

const AWS_PREFIXES = ['AKIA', 'ASIA', 'AGPA', 'AIDA', 'AROA', 'ANPA', 'ANVA', 'AIPA'];

export const RULES: Record<string, RedactRule> = {
  private_key: {
    description: 'PEM private keys (-----BEGIN ... PRIVATE KEY----- to its END line).',
    minLength: 60,
    trigger: (t) => t.includes('PRIVATE KEY-----'),
    regex: /-----BEGIN [A-Z ]{0,30}PRIVATE KEY-----[\s\S]*?-----END [A-Z ]{0,30}PRIVATE KEY-----/g,
  },
  jwt: {
    description: 'JSON Web Tokens (three base64url parts, the first two starting eyJ).',
    minLength: 20,
    trigger: (t) => t.includes('eyJ'),
    regex: /(?<![\w-])eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]{5,}/g,
  },
  aws_key: {
    description: 'AWS access key ids (AKIA..., ASIA..., 20 characters).',
    minLength: 20,
    trigger: (t) => AWS_PREFIXES.some((p) => t.includes(p)),
    regex: /(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}(?![A-Za-z0-9])/g,
  },
  github_token: {
    description: 'GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_).',
    minLength: 40,
    trigger: (t) => t.includes('gh') || t.includes('github_pat_'),
    regex: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})/g,
  },
  slack_token: {
    description: 'Slack tokens (xoxb-, xoxp-, ...) and incoming-webhook URLs.',
    minLength: 15,
    trigger: (t) => t.includes('xox') || t.includes('hooks.slack.com'),
    regex: /(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,250}|https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]{10,200}/g,
  },
  bearer: {
    description: 'Credentials after Bearer, Basic or Token in Authorization headers (the scheme stays).',
    minLength: 13,
    trigger: (t) => t.includes('earer') || t.includes('asic') || t.includes('oken') || t.includes('EARER') || t.includes('ASIC'),
    regex: /\b(?:bearer|basic|token)(?::| |=)\s{0,8}(?<secret>[\w\-.~+/]{8,}=*)/gi,
    secretGroup: 'secret',
  },
  secret_value: {
    description: 'Values of password, passwd, pwd, secret, api_key, access_token, client_secret, private_token keys (`password=...`, `"api_key": "..."`; the key stays).',
    minLength: 4,
    trigger: (t) => (t.includes('=') || t.includes(':')) && SECRET_HINT.test(t),
    regex: /\b(?:password|passwd|pwd|secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?token|private[_-]?token|auth[_-]?token)"?\s{0,4}[=:]\s{0,4}"?(?<secret>[^\s",;&'}]{1,512})/gi,
    secretGroup: 'secret',
  },
  email: {
    description: 'Email addresses.',
    minLength: 6,
    trigger: (t) => t.includes('@'),
    regex: /(?<![\w.+%-])[\w.+%-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}/g,
  },
  credit_card: {
    description: 'Card numbers: 13-19 digits, optionally grouped by spaces or dashes, with a known issuer prefix and a valid Luhn check digit.',
    minLength: 13,
    trigger: hasDigit,
    regex: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])/g,
    confirm: isCardNumber,
  },
  ipv6: {
    description: 'IPv6 addresses (every form net.isIPv6 accepts, including IPv4-mapped).',
    minLength: 3,
    trigger: hasIpv6Colons,
    regex: /(?<![\w:.])[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{0,42}[0-9A-Fa-f:](?![\w:])/g,
    confirm: isIPv6,
  },
  ipv4: {
    description: 'IPv4 addresses (four octets 0-255, not part of a longer dotted number).',
    minLength: 7,
    trigger: hasDottedDigits,
    regex: /(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\.?\d)/g,
    confirm: isIpv4,
  },
};

/** Applied in this order: the most specific first (a GitHub token after `token ` is a github_token). */
export const RULE_NAMES = Object.keys(RULES);
