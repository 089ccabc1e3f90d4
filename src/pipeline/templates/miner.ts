/**
 * Online template miner (Drain-style): every message is assigned a template,
 * the text with its variable parts replaced by `<*>`.
 *
 * Design note. A message is tokenized and masked (tokenize.ts); its masked key
 * is looked up in a bounded cache, which answers almost every message in one
 * hash lookup. A new key is placed like in Drain's tree: templates are
 * grouped by shape (the separators, hence the token count), and indexed by
 * the token at each position. The message joins a template it is *compatible* with:
 * equal at every position where neither has a wildcard. Templates grow more
 * general in two ways only, both evidence that a position holds a variable:
 *  - compatibility: one side has a wildcard where the other has a word (the
 *    position held a number in one line and a word in another);
 *  - siblings: `siblingValues` templates that differ at one position only
 *    (never the first token, which names the event as in Drain) are one
 *    template with a wildcard there (`user root`, `user admin`, ...).
 * Plain words are never turned into wildcards by similarity alone: log
 * templates differ by one word often (`Transitioned from NEW to RUNNING`).
 *
 * Ids: a template's id is a hash of its text when it was first seen, kept
 * while it generalizes. When two templates merge, the larger keeps its id and
 * the other id becomes an alias of it, so ids already stored with records
 * stay meaningful. Memory is bounded: at most `maxTemplates` live templates,
 * the least recently seen are evicted (counted), the cache and the alias table
 * are bounded too. Not safe for concurrent use; the caller serializes.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_MAX_TOKENS, DEFAULT_TOKEN_RULES, Tokenizer, WILDCARD, type TokenRules } from './tokenize.ts';

export interface MinerRules extends TokenRules {
  /** Merge templates that are equal where neither has a wildcard. */
  compatible: boolean;
  /** Merge `siblingValues` templates that differ at one position. */
  siblings: boolean;
  /** Never make the first token a wildcard by the sibling rule. */
  firstTokenFixed: boolean;
}

export const DEFAULT_MINER_RULES: MinerRules = { ...DEFAULT_TOKEN_RULES, compatible: true, siblings: true, firstTokenFixed: true };

export interface MinerOptions {
  /** Distinct words at one position (all else equal) that make it a variable. */
  siblingValues?: number;
  /** Live templates kept, at most; the least recently seen are evicted beyond. */
  maxTemplates?: number;
  /** Messages are mined on their first this many characters... */
  maxMessageChars?: number;
  /** ...and at most this many tokens (the rest is one variable). */
  maxTokens?: number;
  /** For measuring each rule's effect (bench/templates.ts); production uses the defaults. */
  rules?: Partial<MinerRules>;
}

export const DEFAULT_SIBLING_VALUES = 4;
export const DEFAULT_MAX_TEMPLATES = 10_000;
export const DEFAULT_MAX_MESSAGE_CHARS = 2048;

/** One template as persisted and listed. */
export interface TemplateSnapshot {
  id: string;
  tokens: string[];
  seps: string[];
  count: number;
  first_seen: string | null;
  last_seen: string | null;
  example: string;
}

export interface MinerSnapshot {
  version: 1;
  /** Least recently seen first. */
  templates: TemplateSnapshot[];
  /** [merged id, id it was merged into]. */
  aliases: [string, string][];
}

const SHAPE_SEP = '\u0002';
/** Characters of keys in one cache generation, at most (two generations: up to 16 MiB of UTF-16). */
const CACHE_GENERATION_CHARS = 1 << 22;
/** Distinct messages in one generation of the exact-message cache, at most. */
const EXACT_GENERATION = 1 << 16;
/** Slots of the exact cache's doorkeeper (a power of two, in buckets of four): 256 KiB per tenant, enough to see a line again after 60k others. */
const SEEN_SLOTS = 1 << 16;
/** Characters hashed from each end of a message by the doorkeeper. */
const SAMPLE_CHARS = 24;

/**
 * FNV-1a over a message's length and its first and last SAMPLE_CHARS
 * characters: lines that differ do so at the start (timestamps) or the end
 * (ids, counters) almost always, and a false match only admits a line early.
 */
function sampleHash(text: string): number {
  let h = 0x811c9dc5 ^ text.length;
  const n = text.length;
  const head = Math.min(n, SAMPLE_CHARS);
  for (let i = 0; i < head; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  for (let i = Math.max(head, n - SAMPLE_CHARS); i < n; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  // murmur3's finalizer: FNV leaves its low bits (the bucket) poorly mixed. Never 0 (an empty slot).
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 1 : h;
}

export class Template {
  readonly id: string;
  tokens: string[];
  readonly seps: string[];
  /** seps joined: templates of one shape are the only merge candidates of each other. */
  readonly shape: string;
  count = 0;
  /** Event time of the first and last message, ns. */
  firstSeen: bigint | null = null;
  lastSeen: bigint | null = null;
  example: string;
  /** Mining sequence number of the last message: the eviction order. */
  touched = 0;
  /** The template this one was merged into (follow to the end for the current one). */
  mergedInto: Template | null = null;
  evicted = false;
  private printed: string | null = null;

  constructor(id: string, tokens: string[], seps: string[], example: string) {
    this.id = id;
    this.tokens = tokens;
    this.seps = seps;
    this.shape = seps.join(SHAPE_SEP);
    this.example = example;
  }

  /** The template as text: separators and tokens, `<*>` for variables. */
  get text(): string {
    this.printed ??= templateText(this.tokens, this.seps);
    return this.printed;
  }

  setTokens(tokens: string[]): void {
    this.tokens = tokens;
    this.printed = null;
  }

  /** The template this one is now: itself, or the one it was merged into. */
  current(): Template {
    let t: Template = this;
    while (t.mergedInto) t = t.mergedInto;
    return t;
  }
}

function templateText(tokens: string[], seps: string[]): string {
  let text = seps[0]!;
  for (let i = 0; i < tokens.length; i++) text += tokens[i]! + seps[i + 1]!;
  return text;
}

function compatible(a: string[], b: string[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && x !== WILDCARD && y !== WILDCARD) return false;
  }
  return true;
}

/** Wildcards wherever the two differ. */
function join(a: string[], b: string[]): string[] {
  let out: string[] | null = null;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && a[i] !== WILDCARD) {
      out ??= a.slice();
      out[i] = WILDCARD;
    }
  }
  return out ?? a;
}

/** The merge keeps the id of the template with more messages (the older one on a tie). */
function survivorOf(list: Template[]): Template {
  let best = list[0]!;
  for (const t of list) if (t.count > best.count || (t.count === best.count && t.touched < best.touched)) best = t;
  return best;
}

/**
 * Positions indexed per shape. The first few tokens are nearly always enough
 * to find a selective one (they name the event); indexing every position of
 * long messages would cost more memory than the templates themselves.
 */
const INDEXED_POSITIONS = 8;

/** The only position where `a` and `b` differ, or -1 (none, or more than one). */
function singleDifference(a: string[], b: string[]): number {
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (at >= 0) return -1;
    at = i;
  }
  return at;
}

/**
 * The templates of one shape, indexed by the token at each of the first
 * positions: candidates for a token sequence come from its most selective
 * position, not from scanning the shape (which can hold thousands).
 */
class Shape {
  readonly all = new Set<Template>();
  /** position → token (or `<*>`) → templates with that token there. */
  private readonly byPosition: Map<string, Template[]>[];

  constructor(length: number) {
    this.byPosition = Array.from({ length: Math.min(length, INDEXED_POSITIONS) }, () => new Map());
  }

  get size(): number {
    return this.all.size;
  }

  add(t: Template): void {
    this.all.add(t);
    for (let p = 0; p < this.byPosition.length; p++) {
      const at = this.byPosition[p]!;
      const list = at.get(t.tokens[p]!);
      if (list === undefined) at.set(t.tokens[p]!, [t]);
      else list.push(t);
    }
  }

  remove(t: Template): void {
    this.all.delete(t);
    for (let p = 0; p < this.byPosition.length; p++) {
      const at = this.byPosition[p]!;
      const list = at.get(t.tokens[p]!)!;
      list.splice(list.indexOf(t), 1);
      if (list.length === 0) at.delete(t.tokens[p]!);
    }
  }

  /** Templates that may be compatible with `tokens`: equal or a wildcard at its most selective indexed position. */
  compatibleCandidates(tokens: string[]): Iterable<Template> {
    let best: Iterable<Template> = this.all;
    let bestSize = this.all.size;
    for (let p = 0; p < this.byPosition.length; p++) {
      if (tokens[p] === WILDCARD) continue;
      const at = this.byPosition[p]!;
      const same = at.get(tokens[p]!) ?? [];
      const wild = at.get(WILDCARD) ?? [];
      if (same.length + wild.length < bestSize) {
        bestSize = same.length + wild.length;
        best = wild.length === 0 ? same : same.concat(wild);
      }
    }
    return best;
  }

  /**
   * Templates that differ from `t` at exactly one position, by position
   * (neither side a wildcard there). Such a template has t's tokens at every
   * other position, so it is found from t's most selective indexed position,
   * or, for those differing right there, from the second most selective.
   */
  siblingsOf(t: Template): Map<number, Template[]> {
    const tokens = t.tokens;
    let first = -1;
    let second = -1;
    const size = (p: number) => this.byPosition[p]!.get(tokens[p]!)!.length;
    for (let p = 0; p < this.byPosition.length; p++) {
      if (tokens[p] === WILDCARD) continue;
      if (first < 0 || size(p) < size(first)) {
        second = first;
        first = p;
      } else if (second < 0 || size(p) < size(second)) second = p;
    }
    const out = new Map<number, Template[]>();
    const scan = (list: Iterable<Template>, only: number) => {
      for (const c of list) {
        if (c === t) continue;
        const p = singleDifference(c.tokens, tokens);
        if (p < 0 || (only >= 0 && p !== only) || c.tokens[p] === WILDCARD || tokens[p] === WILDCARD) continue;
        const group = out.get(p);
        if (group === undefined) out.set(p, [c]);
        else group.push(c);
      }
    };
    if (first < 0) {
      scan(this.all, -1);
      return out;
    }
    // Siblings differ at one position, so they share t's token at `first` unless they differ right there.
    scan(this.byPosition[first]!.get(tokens[first]!)!, -1);
    scan(second >= 0 ? this.byPosition[second]!.get(tokens[second]!)! : this.all, first);
    return out;
  }
}

export class TemplateMiner {
  readonly siblingValues: number;
  readonly maxTemplates: number;
  readonly maxMessageChars: number;
  private readonly rules: MinerRules;
  private readonly tokenizer: Tokenizer;
  /**
   * Masked message key → template (possibly merged since: follow `current()`),
   * in two generations: when the young one is full it becomes the old one and
   * the old one is dropped; a key found in the old one moves to the young one.
   * So keys in use stay. A generation holds at most `maxTemplates` keys and
   * CACHE_GENERATION_CHARS characters of them: the cache also keeps evicted
   * templates alive until their keys age out, so it must not outgrow them.
   */
  private cache = new Map<string, Template>();
  private oldCache = new Map<string, Template>();
  private readonly cacheGeneration: number;
  private cacheChars = 0;
  /**
   * Exact message → template, in front of the masked-key cache: a line seen
   * before verbatim (health checks, heartbeats, retries) skips tokenizing,
   * which is most of the cost of mining. Same two-generation bound.
   * A missed message is admitted on its second sighting only (a TinyLFU-style
   * doorkeeper, `seen`): most lines are unique (timestamps, ids), and keeping
   * each of them in the cache until its generation ages out costs more
   * (retained strings promoted to the old generation, collected by full GCs)
   * than tokenizing it (measured: unique lines 3.1 → 2.4 µs each).
   */
  private exact = new Map<string, Template>();
  private oldExact = new Map<string, Template>();
  private exactChars = 0;
  /** Hashes of recently missed messages, one per slot (a collision only admits a message early). */
  private readonly seen = new Int32Array(SEEN_SLOTS);
  private seenVictim = 0;
  /** shape → its templates, indexed by the token at each position. */
  private readonly shapes = new Map<string, Shape>();
  private readonly live = new Map<string, Template>();
  private readonly aliases = new Map<string, string>();
  private seq = 0;
  /** Templates evicted so far. */
  evictions = 0;

  constructor(options: MinerOptions = {}) {
    this.siblingValues = options.siblingValues ?? DEFAULT_SIBLING_VALUES;
    this.maxTemplates = options.maxTemplates ?? DEFAULT_MAX_TEMPLATES;
    this.maxMessageChars = options.maxMessageChars ?? DEFAULT_MAX_MESSAGE_CHARS;
    this.rules = { ...DEFAULT_MINER_RULES, ...options.rules };
    this.tokenizer = new Tokenizer(this.rules, options.maxTokens ?? DEFAULT_MAX_TOKENS);
    this.cacheGeneration = Math.max(1024, this.maxTemplates);
  }

  get size(): number {
    return this.live.size;
  }

  /** Messages held by the exact-message cache (both generations). */
  get exactCached(): number {
    return this.exact.size + this.oldExact.size;
  }

  /** Assigns `message` to a template and counts it; `ts` (event time, ns) updates first/last seen. */
  mine(message: string, ts: bigint | null = null): Template {
    // A slice would keep the whole message alive in the cache key and the template's strings; a copy keeps only what is mined.
    const text = message.length > this.maxMessageChars ? Buffer.from(message.slice(0, this.maxMessageChars), 'utf16le').toString('utf16le') : message;
    let t = this.exact.get(text);
    if (t === undefined) {
      t = this.oldExact.get(text);
      if (t !== undefined) this.rememberExact(text, t);
    }
    if (t !== undefined) t = t.current();
    if (t === undefined || t.evicted) {
      const key = this.tokenizer.key(text);
      t = this.cache.get(key);
      if (t === undefined) {
        t = this.oldCache.get(key);
        if (t !== undefined) this.remember(key, t);
      }
      if (t !== undefined) t = t.current();
      if (t === undefined || t.evicted) {
        t = this.place(this.tokenizer.tokens(), this.tokenizer.separators(), text);
        this.remember(key, t);
      }
      if (this.seenBefore(text)) this.rememberExact(text, t);
    }
    t.count++;
    t.touched = ++this.seq;
    if (ts !== null) {
      if (t.firstSeen === null || ts < t.firstSeen) t.firstSeen = ts;
      if (t.lastSeen === null || ts > t.lastSeen) t.lastSeen = ts;
    }
    return t;
  }

  private remember(key: string, t: Template): void {
    if (this.cache.size >= this.cacheGeneration || this.cacheChars >= CACHE_GENERATION_CHARS) {
      this.oldCache = this.cache;
      this.cache = new Map();
      this.cacheChars = 0;
    }
    this.cacheChars += key.length;
    this.cache.set(key, t);
  }

  /**
   * Whether `text` was missed recently (then it is worth caching); records it
   * if not. Four slots per bucket, so messages whose hashes share a bucket
   * do not keep overwriting each other (with one slot per hash, ~10% of a
   * repeating set of 20k lines was never admitted).
   */
  private seenBefore(text: string): boolean {
    const h = sampleHash(text);
    const bucket = (h & (SEEN_SLOTS / 4 - 1)) * 4;
    const seen = this.seen;
    if (seen[bucket] === h || seen[bucket + 1] === h || seen[bucket + 2] === h || seen[bucket + 3] === h) return true;
    // An empty slot first; in a full bucket, the slots in turn.
    let slot = bucket;
    while (slot < bucket + 3 && seen[slot] !== 0) slot++;
    if (seen[slot] !== 0) slot = bucket + (this.seenVictim++ & 3);
    seen[slot] = h;
    return false;
  }

  private rememberExact(text: string, t: Template): void {
    if (this.exact.size >= EXACT_GENERATION || this.exactChars >= CACHE_GENERATION_CHARS) {
      this.oldExact = this.exact;
      this.exact = new Map();
      this.exactChars = 0;
    }
    this.exactChars += text.length;
    this.exact.set(text, t);
  }

  /** Live templates, least recently seen first. */
  templates(): Template[] {
    return [...this.live.values()].sort((a, b) => a.touched - b.touched);
  }

  /** The live template for an id, following merges. */
  get(id: string): Template | undefined {
    return this.live.get(this.resolveId(id));
  }

  /** The id a (possibly merged) id is known by now. */
  resolveId(id: string): string {
    let current = id;
    for (let hops = 0; hops < 64; hops++) {
      const next = this.aliases.get(current);
      if (next === undefined) return current;
      current = next;
    }
    return current;
  }

  snapshot(): MinerSnapshot {
    return {
      version: 1,
      templates: this.templates().map((t) => ({
        id: t.id,
        tokens: t.tokens,
        seps: t.seps,
        count: t.count,
        first_seen: t.firstSeen?.toString() ?? null,
        last_seen: t.lastSeen?.toString() ?? null,
        example: t.example,
      })),
      aliases: [...this.aliases],
    };
  }

  /** Loads a snapshot into an empty miner. */
  restore(snapshot: MinerSnapshot): void {
    for (const s of snapshot.templates) {
      if (s.tokens.length + 1 !== s.seps.length || this.live.has(s.id)) continue;
      const t = new Template(s.id, s.tokens, s.seps, s.example);
      t.count = s.count;
      t.firstSeen = s.first_seen === null ? null : BigInt(s.first_seen);
      t.lastSeen = s.last_seen === null ? null : BigInt(s.last_seen);
      t.touched = ++this.seq;
      this.live.set(t.id, t);
      this.index(t);
    }
    for (const [from, to] of snapshot.aliases) if (!this.live.has(from)) this.aliases.set(from, to);
    this.evictIfFull();
  }

  /** A message whose masked form is new: join a compatible template or start one. */
  private place(tokens: string[], seps: string[], example: string): Template {
    const shape = seps.join(SHAPE_SEP);
    const found = this.rules.compatible ? this.findCompatible(shape, tokens, null) : [];
    if (found.length > 0) {
      const survivor = survivorOf(found);
      this.generalize(survivor, join(survivor.tokens, tokens));
      for (const other of found) if (other !== survivor) this.mergeInto(survivor, other);
      this.settle(survivor);
      return survivor.current();
    }
    const t = new Template(this.newId(templateText(tokens, seps)), tokens, seps, example);
    t.touched = this.seq;
    this.live.set(t.id, t);
    this.aliases.delete(t.id);
    this.index(t);
    this.settle(t);
    this.evictIfFull();
    return t.current();
  }

  /** Merges until no two templates of the changed ones' shape are compatible or siblings enough. */
  private settle(first: Template): void {
    const work = [first];
    while (work.length > 0) {
      const t = work.pop()!.current();
      if (t.evicted) continue;
      if (this.rules.compatible) {
        const others = this.findCompatible(t.shape, t.tokens, t);
        if (others.length > 0) {
          others.push(t);
          const survivor = survivorOf(others);
          for (const o of others) if (o !== survivor) this.mergeInto(survivor, o);
          work.push(survivor);
          continue;
        }
      }
      if (!this.rules.siblings) continue;
      const from = this.rules.firstTokenFixed ? 1 : 0;
      for (const [p, siblings] of this.shapes.get(t.shape)!.siblingsOf(t)) {
        if (p < from || siblings.length + 1 < this.siblingValues) continue;
        const survivor = survivorOf([t, ...siblings]);
        const tokens = survivor.tokens.slice();
        tokens[p] = WILDCARD;
        this.generalize(survivor, tokens);
        for (const m of [t, ...siblings]) if (m !== survivor) this.merge(m, survivor);
        work.push(survivor);
        break;
      }
    }
  }

  /** Folds `other` into `survivor`, widening survivor's template to cover it. */
  private mergeInto(survivor: Template, other: Template): void {
    this.generalize(survivor, join(survivor.tokens, other.tokens));
    this.merge(other, survivor);
  }

  private merge(from: Template, into: Template): void {
    this.unindex(from);
    this.live.delete(from.id);
    from.mergedInto = into;
    into.count += from.count;
    if (from.firstSeen !== null && (into.firstSeen === null || from.firstSeen < into.firstSeen)) into.firstSeen = from.firstSeen;
    if (from.lastSeen !== null && (into.lastSeen === null || from.lastSeen > into.lastSeen)) into.lastSeen = from.lastSeen;
    if (from.touched > into.touched) into.touched = from.touched;
    this.aliases.delete(from.id);
    this.aliases.set(from.id, into.id);
    if (this.aliases.size > this.maxTemplates) this.aliases.delete(this.aliases.keys().next().value!);
  }

  private generalize(t: Template, tokens: string[]): void {
    if (tokens === t.tokens) return;
    this.unindex(t);
    t.setTokens(tokens);
    this.index(t);
  }

  private findCompatible(shapeKey: string, tokens: string[], self: Template | null): Template[] {
    const out: Template[] = [];
    const shape = this.shapes.get(shapeKey);
    if (shape === undefined) return out;
    for (const t of shape.compatibleCandidates(tokens)) if (t !== self && compatible(t.tokens, tokens)) out.push(t);
    return out;
  }

  private index(t: Template): void {
    let shape = this.shapes.get(t.shape);
    if (shape === undefined) this.shapes.set(t.shape, (shape = new Shape(t.tokens.length)));
    shape.add(t);
  }

  private unindex(t: Template): void {
    const shape = this.shapes.get(t.shape)!;
    shape.remove(t);
    if (shape.size === 0) this.shapes.delete(t.shape);
  }

  /** Evicts the least recently seen templates, a twentieth of the limit at a time (one sort per batch). */
  private evictIfFull(): void {
    if (this.live.size <= this.maxTemplates) return;
    const target = Math.floor(this.maxTemplates * 0.95);
    const oldest = this.templates().slice(0, this.live.size - target);
    for (const t of oldest) {
      this.unindex(t);
      this.live.delete(t.id);
      t.evicted = true;
      this.evictions++;
    }
  }

  private newId(text: string): string {
    for (let attempt = 0; ; attempt++) {
      const id = createHash('sha256')
        .update(attempt === 0 ? text : `${text}\u0000${attempt}`)
        .digest('hex')
        .slice(0, 16);
      if (!this.live.has(id)) return id;
    }
  }
}
