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
 *
 * Records carry the agent's sequence number (seq), written to the agent's
 * disk buffer with the record, so a record resent by a restarted agent (whose
 * batches are cut anew, with new batch ids) has the same seq. The record
 * window keeps the committed seqs as merged intervals: an agent ships its
 * buffer in order, so they collapse to a handful, and memory stays small
 * whatever the window's size. Seqs more than `recordWindow` below the highest
 * committed one are forgotten.
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
  /** Records the agent dropped since it started, as it last reported. */
  dropped_records: number | null;
  /** Version of the server-side config the agent applies (0: none), and why it could not apply the latest. */
  config_version: number | null;
  config_error: string | null;
  /** Records not stored because their seq had been stored already (resends). */
  duplicate_records: number;
}

/** Committed record seqs of one agent: sorted, disjoint, merged intervals [lo, hi]. */
export class SeqWindow {
  private los: number[] = [];
  private his: number[] = [];
  private readonly span: number;
  private readonly maxIntervals: number;

  constructor(span: number, maxIntervals = 4096) {
    this.span = span;
    this.maxIntervals = maxIntervals;
  }

  /** Index of the first interval whose hi >= seq. */
  private find(seq: number): number {
    let lo = 0;
    let hi = this.his.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.his[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(seq: number): boolean {
    const i = this.find(seq);
    return i < this.los.length && this.los[i]! <= seq;
  }

  /** Adds [lo, hi], merging with neighbours, then forgets what fell out of the window. */
  add(lo: number, hi: number): void {
    let i = this.find(lo - 1);
    let j = i;
    while (j < this.los.length && this.los[j]! <= hi + 1) {
      lo = Math.min(lo, this.los[j]!);
      hi = Math.max(hi, this.his[j]!);
      j++;
    }
    this.los.splice(i, j - i, lo);
    this.his.splice(i, j - i, hi);
    const floor = this.his[this.his.length - 1]! - this.span;
    let drop = 0;
    while (drop < this.his.length && (this.his[drop]! < floor || this.his.length - drop > this.maxIntervals)) drop++;
    if (drop > 0) {
      this.los.splice(0, drop);
      this.his.splice(0, drop);
    }
    if (this.los.length > 0 && this.los[0]! < floor) this.los[0] = floor;
  }

  /** Adds every seq of a list (in any order) as intervals. */
  addAll(seqs: number[]): void {
    if (seqs.length === 0) return;
    const sorted = seqs.slice().sort((a, b) => a - b);
    let lo = sorted[0]!;
    let prev = lo;
    for (let k = 1; k < sorted.length; k++) {
      const s = sorted[k]!;
      if (s <= prev + 1) {
        prev = Math.max(prev, s);
        continue;
      }
      this.add(lo, prev);
      lo = prev = s;
    }
    this.add(lo, prev);
  }

  get intervals(): number {
    return this.los.length;
  }
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
  droppedRecords: number | null = null;
  configVersion: number | null = null;
  configError: string | null = null;
  duplicateRecords = 0;
  readonly seqs: SeqWindow;
  private readonly committed = new Set<string>();
  private readonly storing = new Map<string, Promise<boolean>>();
  /** Seq ranges of batches being stored, so a resend waits for the first copy's outcome. */
  private readonly storingSeqs = new Set<{ lo: number; hi: number; outcome: Promise<boolean> }>();
  private readonly window: number;

  constructor(tenant: string, agentId: string, window: number, recordWindow: number) {
    this.tenant = tenant;
    this.agentId = agentId;
    this.window = window;
    this.seqs = new SeqWindow(recordWindow);
  }

  /** Outcomes of batches being stored whose seq range overlaps [lo, hi]. */
  seqsInFlight(lo: number, hi: number): Promise<boolean>[] {
    const out: Promise<boolean>[] = [];
    for (const s of this.storingSeqs) if (s.lo <= hi && lo <= s.hi) out.push(s.outcome);
    return out;
  }

  trackSeqs(lo: number, hi: number, outcome: Promise<boolean>): void {
    const entry = { lo, hi, outcome };
    this.storingSeqs.add(entry);
    void outcome.finally(() => this.storingSeqs.delete(entry));
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
      dropped_records: this.droppedRecords,
      config_version: this.configVersion,
      config_error: this.configError,
      duplicate_records: this.duplicateRecords,
    };
  }
}

export class AgentRegistry {
  private readonly agents = new Map<string, AgentState>();
  private readonly maxAgents: number;
  private readonly window: number;
  private readonly recordWindow: number;

  constructor(maxAgents: number, window: number, recordWindow: number) {
    this.maxAgents = maxAgents;
    this.window = window;
    this.recordWindow = recordWindow;
  }

  /** The agent's state (created if new), marked as seen now with what its metadata says. */
  touch(tenant: string, agentId: string, meta: AgentMeta = {}): AgentState {
    const key = `${tenant}\u0000${agentId}`;
    let state = this.agents.get(key);
    if (state) this.agents.delete(key);
    else state = new AgentState(tenant, agentId, this.window, this.recordWindow);
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
