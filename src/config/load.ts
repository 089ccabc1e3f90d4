/**
 * Configuration loading: defaults < YAML file < CAIRN_* environment < CLI flags,
 * validated once at start-up against the server's schema. An error names every
 * bad key with its path, the reason, and where the value came from.
 */
import { deepMerge, envOverrides, readConfigFile, setPath, validateWith, type Tree } from './base.ts';
import { configSchema, type CairnConfig } from './schema.ts';

export { ConfigError, ENV_PREFIX, deepMerge, envOverrides, readConfigFile, setPath, validateWith } from './base.ts';

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flag overrides as dotted paths: { 'server.listen': '0.0.0.0:7480' }. */
  flags?: Record<string, unknown>;
  /** The flag that set each path, for error messages (default: --<last path segment>). */
  flagNames?: Record<string, string>;
}

export function loadConfig(options: LoadOptions = {}): CairnConfig {
  let tree: Tree = options.file ? readConfigFile(options.file) : {};
  const { tree: envTree, origins } = envOverrides(options.env ?? process.env);
  tree = deepMerge(tree, envTree);
  for (const [path, value] of Object.entries(options.flags ?? {})) {
    if (value === undefined) continue;
    setPath(tree, path.split('.'), value);
    origins.set(path, options.flagNames?.[path] ?? `--${path.split('.').pop()!.replaceAll('_', '-')}`);
  }
  return validateConfig(tree, options.file ?? 'defaults', origins);
}

export function validateConfig(tree: unknown, source: string, origins = new Map<string, string>()): CairnConfig {
  return validateWith(configSchema, tree, source, origins);
}

