/**
 * What every configuration file shares (the server's and the agent's): reading
 * YAML, CAIRN_* environment overrides, and validation whose errors name every
 * bad key with its path, the reason, and where the value came from. Kept apart
 * from the server's schema so the agent does not build it (and pay its memory).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseDocument } from 'yaml';
import type { z } from 'zod';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[], source: string) {
    super(`invalid configuration (${source}):\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export type Tree = Record<string, unknown>;

/** Environment overrides: CAIRN_SERVER__LISTEN=0.0.0.0:7480 sets server.listen. */
export const ENV_PREFIX = 'CAIRN_';

export function envOverrides(env: NodeJS.ProcessEnv): { tree: Tree; origins: Map<string, string> } {
  const tree: Tree = {};
  const origins = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || !name.includes('__') || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    setPath(tree, path, parseScalar(raw));
    origins.set(path.join('.'), name);
  }
  return { tree, origins };
}

/** YAML's scalar rules, so `CAIRN_INGEST__KEEP_RAW=true` is a boolean and `...=5` a number. */
function parseScalar(text: string): unknown {
  try {
    const value: unknown = parseYaml(text);
    return value === null || typeof value === 'object' ? text : value;
  } catch {
    return text;
  }
}

export function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isTree(v) && isTree(out[k]) ? deepMerge(out[k] as Tree, v) : v;
  }
  return out;
}

export function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read ${file}: ${(err as Error).message}`], file);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
      file,
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (!isTree(value)) throw new ConfigError(['the top level must be a mapping of sections (server:, ingest:, ...)'], file);
  return value;
}

/** Validates against any schema (the agent has its own), with errors that name each key and where it came from. */
export function validateWith<S extends z.ZodType>(schema: S, tree: unknown, source: string, origins = new Map<string, string>()): z.output<S> {
  const result = schema.safeParse(tree);
  if (result.success) return result.data;
  throw new ConfigError(describeIssues(result.error.issues, origins), source);
}

function describeIssues(issues: z.core.$ZodIssue[], origins: Map<string, string>): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...base, key].join('.');
        out.push(`${path}: unknown key${origin(origins, path)}`);
      }
      continue;
    }
    const path = base.join('.') || '(top level)';
    out.push(`${path}: ${issue.message}${origin(origins, path)}`);
  }
  return out;
}

function origin(origins: Map<string, string>, path: string): string {
  const from = origins.get(path);
  return from ? ` (from ${from})` : '';
}

/**
 * Reads a file a configuration key names (a PEM certificate or key), with an
 * error that names the key: `sources.forward.tls_cert: cannot read /x.pem: ...`.
 */
export function readKeyFile(keyPath: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError([`${keyPath}: cannot read ${file}: ${(err as Error).message}`], keyPath.split('.').slice(0, 2).join('.'));
  }
}

