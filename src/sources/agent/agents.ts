/**
 * The agents this server has heard from: their status (GET /api/v1/agents,
 * the UI's System page) and each one's dedup window.
 *
 * Design note: memory only, keyed by tenant and agent id, at most max_agents
 * entries; a Map re-inserted on every touch keeps least-recently-seen order,
 * so the agent silent the longest is forgotten first. The dedup window is the
 * last `dedup_window` batch ids committed for the agent (a Set in insertion
 * order, the oldest dropped first). A batch still being stored is kept as a
 * promise, so a copy resent over a new connection while the first is in flight
 * waits for that outcome instead of being stored twice. A server restart
 * forgets the windows: a batch stored but not yet acknowledged when the server
 * died may be stored again (at-least-once, as after any crash).
 */

export interface AgentMeta {
  hostname?: string;
  version?: string;
  remote?: string;
  accessKey?: string;
}

export interface AgentStatusJson {
  tenant: string;
  agent_id: string;
  hostname: string;
  version: string;
  remote: string;
  /** Access key of the last config the agent fetched. */
  access_key: string | null;
  /** Open ingest streams now. */
  streams: number;
  first_seen: string;
  last_seen: string;
  last_batch_id: string | null;
  batches: number;
  duplicate_batches: number;
  retried_batches: number;
  records_accepted: number;
  records_rejected: number;
  backlog_records: number | null;
  backlog_bytes: number | null;
  lag_ms: number | null;
}

export class AgentState {
  readonly tenant: string;
  readonly agentId: string;
  hostname = '';
  version = '';
  remote = '';
  accessKey: string | null = null;
  streams = 0;
  readonly firstSeen = Date.now();
  lastSeen = Date.now();
  lastBatchId: string | null = null;
  batches = 0;
  duplicateBatches = 0;
  retriedBatches = 0;
  recordsAccepted = 0;
  recordsRejected = 0;
  backlogRecords: number | null = null;
  backlogBytes: number | null = null;
  lagMs: number | null = null;
  private readonly committed = new Set<string>();
  private readonly storing = new Map<string, Promise<boolean>>();
  private readonly window: number;

  constructor(tenant: string, agentId: string, window: number) {
    this.tenant = tenant;
    this.agentId = agentId;
    this.window = window;
  }

  isCommitted(batchId: string): boolean {
    return this.committed.has(batchId);
  }

  commit(batchId: string): void {
    this.committed.add(batchId);
    if (this.committed.size > this.window) this.committed.delete(this.committed.values().next().value!);
  }

  /** The outcome (true = stored) of the same batch being stored right now, if it is. */
  inFlight(batchId: string): Promise<boolean> | undefined {
    return this.storing.get(batchId);
  }

  track(batchId: string, outcome: Promise<boolean>): void {
    this.storing.set(batchId, outcome);
    void outcome.finally(() => {
      if (this.storing.get(batchId) === outcome) this.storing.delete(batchId);
    });
  }

  toJson(): AgentStatusJson {
    return {
      tenant: this.tenant,
      agent_id: this.agentId,
      hostname: this.hostname,
      version: this.version,
      remote: this.remote,
      access_key: this.accessKey,
      streams: this.streams,
      first_seen: new Date(this.firstSeen).toISOString(),
      last_seen: new Date(this.lastSeen).toISOString(),
      last_batch_id: this.lastBatchId,
      batches: this.batches,
      duplicate_batches: this.duplicateBatches,
      retried_batches: this.retriedBatches,
      records_accepted: this.recordsAccepted,
      records_rejected: this.recordsRejected,
      backlog_records: this.backlogRecords,
      backlog_bytes: this.backlogBytes,
      lag_ms: this.lagMs,
    };
  }
}

export class AgentRegistry {
  private readonly agents = new Map<string, AgentState>();
  private readonly maxAgents: number;
  private readonly window: number;

  constructor(maxAgents: number, window: number) {
    this.maxAgents = maxAgents;
    this.window = window;
  }

  /** The agent's state (created if new), marked as seen now with what its metadata says. */
  touch(tenant: string, agentId: string, meta: AgentMeta = {}): AgentState {
    const key = `${tenant}\u0000${agentId}`;
    let state = this.agents.get(key);
    if (state) this.agents.delete(key);
    else state = new AgentState(tenant, agentId, this.window);
    this.agents.set(key, state);
    if (this.agents.size > this.maxAgents) {
      for (const [k, s] of this.agents) {
        if (s.streams > 0) continue; // a connected agent is never forgotten mid-stream
        this.agents.delete(k);
        break;
      }
    }
    state.lastSeen = Date.now();
    if (meta.hostname) state.hostname = meta.hostname;
    if (meta.version) state.version = meta.version;
    if (meta.remote) state.remote = meta.remote;
    if (meta.accessKey) state.accessKey = meta.accessKey;
    return state;
  }

  list(tenant: string): AgentStatusJson[] {
    const out: AgentStatusJson[] = [];
    for (const s of this.agents.values()) if (s.tenant === tenant) out.push(s.toJson());
    return out.sort((a, b) => a.agent_id.localeCompare(b.agent_id));
  }
}
