/**
 * Live tail: records are published here after the store committed them, and
 * every subscriber of the record's tenant gets the ones its filter accepts.
 *
 * Design note: the queue consumer publishes each committed batch once, off
 * the commit path (ingest acknowledgements never wait for tail filters).
 * Filters run in process (evaluate.ts / the LogQL pipeline) on every new
 * record, so a tail costs nothing in the store. Subscribers own their
 * buffering (api/tail.ts): the bus never holds records after publish()
 * returns, so a slow subscriber cannot make it grow. publish() runs off any
 * request, so a subscriber that throws must not escape it (that would be an
 * uncaught exception): it is unsubscribed and told through onError.
 */
import type { LogRecord } from '../record/record.ts';

interface TailSubscription {
  tenant: string;
  /** The subscriber's filter: the records to deliver, from a tenant's batch. */
  deliver(records: LogRecord[]): void;
  /** Called once if deliver threw; the subscription has ended. */
  onError?(err: Error): void;
}

export class TailBus {
  private readonly byTenant = new Map<string, Set<TailSubscription>>();

  subscribe(sub: TailSubscription): () => void {
    let set = this.byTenant.get(sub.tenant);
    if (!set) this.byTenant.set(sub.tenant, (set = new Set()));
    set.add(sub);
    return () => this.unsubscribe(sub);
  }

  private unsubscribe(sub: TailSubscription): void {
    const set = this.byTenant.get(sub.tenant);
    if (!set?.delete(sub)) return;
    if (set.size === 0) this.byTenant.delete(sub.tenant);
  }

  subscribers(tenant: string): number {
    return this.byTenant.get(tenant)?.size ?? 0;
  }

  get idle(): boolean {
    return this.byTenant.size === 0;
  }

  /** Hands committed records to the subscribers of their tenant. */
  publish(records: readonly LogRecord[]): void {
    if (this.byTenant.size === 0) return;
    const perTenant = new Map<string, LogRecord[]>();
    for (const r of records) {
      if (!this.byTenant.has(r.tenant)) continue;
      let list = perTenant.get(r.tenant);
      if (!list) perTenant.set(r.tenant, (list = []));
      list.push(r);
    }
    for (const [tenant, list] of perTenant) {
      for (const sub of this.byTenant.get(tenant) ?? []) {
        try {
          sub.deliver(list);
        } catch (err) {
          this.unsubscribe(sub);
          sub.onError?.(err instanceof Error ? err : new Error(String(err)));
        }
      }
    }
  }
}
