/**
 * Agent configs: one JSON object per tenant and access key, kept in
 * `<data>/agents/configs.json`; agents fetch theirs over gRPC (AgentConfig,
 * WatchConfig), operators set them with `cairn agents config` or the admin API.
 *
 * Design note: like the token store, the CLI writes the file while a server
 * may be running, so every write is atomic (temp file, fsync, rename) and the
 * server notices another process's write by the file's identity (inode, mtime,
 * size), checked at most once a second on reads and once a second while any
 * agent watches. Each change of a key bumps its version; the etag is a hash of
 * the config text, so an agent can tell "changed" without comparing configs.
 * The content is the agent's business: the server checks only that it is a
 * JSON object within max_config_bytes.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TENANT_PATTERN } from '../../config/fields.ts';
import type { Attrs } from '../../record/record.ts';
import { SharedJsonFile } from '../../util/atomic-file.ts';

/** Access keys look like tenant names: letters, digits, ".", "_", "-". */
export const ACCESS_KEY_PATTERN = TENANT_PATTERN;
export const DEFAULT_ACCESS_KEY = 'default';

export interface AgentConfigEntry {
  config: Attrs;
  version: number;
  etag: string;
  /** RFC 3339 */
  updated: string;
}

export interface AgentConfigListing extends AgentConfigEntry {
  tenant: string;
  access_key: string;
}

interface ConfigFile {
  version: 1;
  tenants: Record<string, Record<string, AgentConfigEntry>>;
}

export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

export function configFilePath(dataDir: string): string {
  return join(dataDir, 'agents', 'configs.json');
}

type Listener = (entry: AgentConfigEntry | undefined) => void;

const watchKey = (tenant: string, key: string) => `${tenant}\u0000${key}`;

export class AgentConfigStore {
  private readonly state: SharedJsonFile<ConfigFile>;
  private readonly maxBytes: number;
  private readonly listeners = new Map<string, Set<Listener>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(dataDir: string, maxBytes: number) {
    this.maxBytes = maxBytes;
    this.state = new SharedJsonFile<ConfigFile>(configFilePath(dataDir), () => ({ version: 1, tenants: {} }), (before, after) => this.notify(before, after));
  }

  private get data(): ConfigFile {
    return this.state.read();
  }

  private notify(before: ConfigFile, after: ConfigFile): void {
    for (const [k, set] of this.listeners) {
      const [tenant, key] = k.split('\u0000') as [string, string];
      const old = before.tenants[tenant]?.[key];
      const now = after.tenants[tenant]?.[key];
      if (old?.etag === now?.etag && old?.version === now?.version) continue;
      for (const listener of set) listener(now);
    }
  }

  get(tenant: string, key: string): AgentConfigEntry | undefined {
    return this.data.tenants[tenant]?.[key];
  }

  list(tenant?: string): AgentConfigListing[] {
    const out: AgentConfigListing[] = [];
    for (const [t, keys] of Object.entries(this.state.read(true).tenants)) {
      if (tenant !== undefined && t !== tenant) continue;
      for (const [access_key, entry] of Object.entries(keys)) out.push({ tenant: t, access_key, ...entry });
    }
    return out.sort((a, b) => a.tenant.localeCompare(b.tenant) || a.access_key.localeCompare(b.access_key));
  }

  /** Validates and stores a config; returns the new entry (version + 1). */
  set(tenant: string, key: string, config: unknown): AgentConfigEntry {
    if (!ACCESS_KEY_PATTERN.test(key)) {
      throw new AgentConfigError(`access key "${key}" is not valid: 1-63 letters, digits, ".", "_", "-", starting with a letter or digit`);
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new AgentConfigError('an agent config must be a JSON object');
    const text = JSON.stringify(config);
    if (Buffer.byteLength(text) > this.maxBytes) {
      throw new AgentConfigError(`the config is ${Buffer.byteLength(text)} bytes; at most ${this.maxBytes} (sources.agent.max_config_bytes)`);
    }
    const data = structuredClone(this.state.read(true));
    const previous = data.tenants[tenant]?.[key];
    const entry: AgentConfigEntry = {
      config: config as Attrs,
      version: (previous?.version ?? 0) + 1,
      etag: createHash('sha256').update(text).digest('hex').slice(0, 32),
      updated: new Date().toISOString(),
    };
    (data.tenants[tenant] ??= {})[key] = entry;
    this.save(data);
    return entry;
  }

  delete(tenant: string, key: string): boolean {
    const data = structuredClone(this.state.read(true));
    if (!data.tenants[tenant]?.[key]) return false;
    delete data.tenants[tenant][key];
    if (Object.keys(data.tenants[tenant]).length === 0) delete data.tenants[tenant];
    this.save(data);
    return true;
  }

  private save(data: ConfigFile): void {
    const before = this.state.read();
    this.state.write(data);
    this.notify(before, data);
  }

  /** Calls listener with the key's config whenever it changes (set, delete, or another process's write). */
  watch(tenant: string, key: string, listener: Listener): () => void {
    const k = watchKey(tenant, key);
    let set = this.listeners.get(k);
    if (!set) this.listeners.set(k, (set = new Set()));
    set.add(listener);
    this.timer ??= setInterval(() => this.state.read(true), 1000).unref();
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(k);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }
}
