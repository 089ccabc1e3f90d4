/**
 * The template store: one miner per tenant, and their snapshots on disk so
 * the patterns API survives a restart.
 *
 * Design note. Templates are derived data: the records in the store keep
 * their template_id whatever happens here, so a snapshot every
 * `snapshot_interval` (and at shutdown) is durable enough. A crash loses only
 * the templates first seen since the last snapshot, and because a template id
 * is a hash of the template's first text, the same lines mined again after
 * the restart get the same ids back. Each tenant's snapshot is one JSON file,
 * written to a temporary name, synced and renamed, so a file is either the
 * old or the new snapshot, never half of one. A file that does not parse is
 * set aside (renamed `.bad`) and the tenant starts empty: losing templates
 * must never stop the server.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { TENANT_PATTERN } from '../../config/schema.ts';
import type { Logger } from '../../util/logger.ts';
import { TemplateMiner, type MinerOptions, type MinerSnapshot, type Template } from './miner.ts';

export interface TemplateStoreOptions extends MinerOptions {
  /** Where snapshots live; null keeps templates in memory only. */
  dir: string | null;
  /** Time between snapshots of changed tenants, ms; 0 saves only at close. */
  snapshotIntervalMs: number;
  logger: Logger;
  /** Told how many templates a tenant evicted (for the metric). */
  onEvict?: (tenant: string, n: number) => void;
}

const SUFFIX = '.json';

export class TemplateStore {
  private readonly options: TemplateStoreOptions;
  private readonly miners = new Map<string, TemplateMiner>();
  /** Tenants mined since their last snapshot. */
  private readonly dirty = new Set<string>();
  private readonly reportedEvictions = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private lastTenant = '';
  private lastMiner: TemplateMiner | null = null;
  /** The last save, settled or not: the next one starts after it. */
  private saving: Promise<void> | null = null;

  constructor(options: TemplateStoreOptions) {
    this.options = options;
  }

  /** Loads every tenant's snapshot and starts the snapshot timer. */
  open(): void {
    const { dir, snapshotIntervalMs } = this.options;
    if (dir !== null) {
      mkdirSync(dir, { recursive: true });
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const tenant = entry.name.slice(0, -SUFFIX.length);
        if (entry.isFile() && entry.name.endsWith(SUFFIX) && TENANT_PATTERN.test(tenant)) this.load(tenant, join(dir, entry.name));
      }
    }
    if (snapshotIntervalMs > 0) {
      this.timer = setInterval(() => {
        this.save().catch((err: unknown) => this.options.logger.error({ err }, 'template snapshot failed'));
      }, snapshotIntervalMs);
      this.timer.unref();
    }
  }

  /** Mines one message of a tenant; returns its template id. */
  mine(tenant: string, message: string, ts: bigint): string {
    // Batches are mostly one tenant: look its miner up (and mark it changed) once per run of records.
    if (tenant !== this.lastTenant || this.lastMiner === null) {
      this.lastMiner = this.miner(tenant);
      this.lastTenant = tenant;
      this.dirty.add(tenant);
    }
    return this.lastMiner.mine(message, ts).id;
  }

  /** Reports evictions since the last call (once per batch, not per record). */
  reportEvictions(): void {
    if (!this.options.onEvict) return;
    for (const [tenant, miner] of this.miners) {
      const before = this.reportedEvictions.get(tenant) ?? 0;
      if (miner.evictions > before) {
        this.options.onEvict(tenant, miner.evictions - before);
        this.reportedEvictions.set(tenant, miner.evictions);
      }
    }
  }

  /** The live template an id (or an id merged since) stands for. */
  get(tenant: string, id: string): Template | undefined {
    return this.miners.get(tenant)?.get(id);
  }

  resolveId(tenant: string, id: string): string {
    return this.miners.get(tenant)?.resolveId(id) ?? id;
  }

  /** Live templates of each tenant (for the gauge). */
  sizes(): Map<string, number> {
    return new Map([...this.miners].map(([tenant, miner]) => [tenant, miner.size]));
  }

  /** Writes the snapshot of every tenant mined since its last one. */
  async save(): Promise<void> {
    // One save at a time; a save asked for during another runs after it.
    const run = (this.saving ?? Promise.resolve()).then(() => this.saveDirty());
    this.saving = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.save();
  }

  private miner(tenant: string): TemplateMiner {
    let miner = this.miners.get(tenant);
    if (miner === undefined) {
      miner = new TemplateMiner(this.options);
      this.miners.set(tenant, miner);
    }
    return miner;
  }

  private load(tenant: string, path: string): void {
    try {
      const snapshot = JSON.parse(readFileSync(path, 'utf8')) as MinerSnapshot;
      if (snapshot.version !== 1 || !Array.isArray(snapshot.templates) || !Array.isArray(snapshot.aliases)) {
        throw new Error(`unknown snapshot format (version ${JSON.stringify(snapshot.version)})`);
      }
      this.miner(tenant).restore(snapshot);
    } catch (err) {
      this.miners.delete(tenant);
      this.options.logger.error({ err, path }, 'template snapshot unreadable; set aside as .bad, the tenant starts with no templates');
      try {
        renameSync(path, `${path}.bad`);
      } catch {
        /* reported above; the next snapshot replaces it */
      }
    }
  }

  private async saveDirty(): Promise<void> {
    const { dir, logger } = this.options;
    if (dir === null) {
      this.dirty.clear();
      return;
    }
    const tenants = [...this.dirty];
    this.dirty.clear();
    this.lastMiner = null; // the next record marks its tenant changed again
    for (const tenant of tenants) {
      const miner = this.miners.get(tenant);
      if (miner === undefined) continue;
      try {
        await writeAtomically(join(dir, tenant + SUFFIX), JSON.stringify(miner.snapshot()));
      } catch (err) {
        this.dirty.add(tenant);
        logger.error({ err, tenant }, 'template snapshot failed; retrying at the next interval');
      }
    }
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const dir = await open(join(path, '..'), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
