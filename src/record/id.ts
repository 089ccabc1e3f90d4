/**
 * Stable record id: 16 hex digits of the timestamp (ns) followed by 16 hex
 * digits of a SHA-256 over tenant, host, unit and message. The same event sent
 * twice (an agent resending after an outage) gets the same id, so the server
 * can deduplicate; the id is derived, never stored, so it costs no disk, and
 * its time prefix turns a lookup by id into a point query on `ts`.
 */
import { hash } from 'node:crypto';

export interface IdentityFields {
  ts: bigint;
  tenant: string;
  host: string;
  unit: string;
  message: string;
}

export function recordId(r: IdentityFields): string {
  const digest = hash('sha256', `${r.tenant}\u0000${r.host}\u0000${r.unit}\u0000${r.message}`, 'hex');
  const tsHex = BigInt.asUintN(64, r.ts).toString(16).padStart(16, '0');
  return tsHex + digest.slice(0, 16);
}

const ID_PATTERN = /^[0-9a-f]{32}$/;

/** The timestamp an id carries; undefined when the text is not a record id. */
export function tsOfRecordId(id: string): bigint | undefined {
  if (!ID_PATTERN.test(id)) return undefined;
  return BigInt.asIntN(64, BigInt('0x' + id.slice(0, 16)));
}
