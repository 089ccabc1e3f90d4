/**
 * Token store: API tokens bound to a tenant and a role, kept hashed in
 * `<data>/auth/tokens.json`.
 *
 * Design note: a token reads `cairn_<id>_<secret>`. Only SHA-256(secret) is
 * stored, so the file leaks nothing usable; the id finds the entry without
 * scanning, and the comparison is constant-time. The CLI writes the file
 * (atomically: temp file, fsync, rename) while a server may be running; the
 * server notices by the file's mtime, checked at most once a second, so new
 * and revoked tokens apply without a restart.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { SharedJsonFile } from '../util/atomic-file.ts';

export const ROLES = ['ingest', 'read', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenEntry {
  id: string;
  /** hex SHA-256 of the secret part */
  hash: string;
  tenant: string;
  role: Role;
  name: string;
  created: string;
  /** RFC 3339, or null for no expiry. */
  expires: string | null;
}

export interface Principal {
  tenant: string;
  role: Role;
  tokenId: string | null;
}

interface TokenFile {
  version: 1;
  tokens: TokenEntry[];
}

const TOKEN_PATTERN = /^cairn_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function tokenFilePath(dataDir: string): string {
  return join(dataDir, 'auth', 'tokens.json');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class TokenStore {
  private readonly state: SharedJsonFile<TokenFile>;
  private entries = new Map<string, TokenEntry>();

  constructor(dataDir: string) {
    this.state = new SharedJsonFile<TokenFile>(
      tokenFilePath(dataDir),
      () => ({ version: 1, tokens: [] }),
      (_before, after) => (this.entries = new Map(after.tokens.map((t) => [t.id, t]))),
    );
  }

  /** The principal a token stands for, or a reason it does not stand for one. */
  verify(token: string, now = Date.now()): Principal | { error: string } {
    const m = TOKEN_PATTERN.exec(token.trim());
    if (!m) return { error: 'malformed token' };
    this.state.read();
    const entry = this.entries.get(m[1]!);
    if (!entry) return { error: 'unknown or revoked token' };
    const given = Buffer.from(sha256Hex(m[2]!), 'hex');
    const stored = Buffer.from(entry.hash, 'hex');
    if (given.length !== stored.length || !timingSafeEqual(given, stored)) return { error: 'unknown or revoked token' };
    if (entry.expires && Date.parse(entry.expires) <= now) return { error: 'token expired' };
    return { tenant: entry.tenant, role: entry.role, tokenId: entry.id };
  }

  list(): TokenEntry[] {
    this.state.read(true);
    return [...this.entries.values()];
  }

  /** Creates a token; the returned text is the only time the secret exists outside the caller. */
  create(opts: { tenant: string; role: Role; expiresMs?: number; name?: string }): { token: string; entry: TokenEntry } {
    this.state.read(true);
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = new Date();
    const entry: TokenEntry = {
      id,
      hash: sha256Hex(secret),
      tenant: opts.tenant,
      role: opts.role,
      name: opts.name ?? '',
      created: now.toISOString(),
      expires: opts.expiresMs ? new Date(now.getTime() + opts.expiresMs).toISOString() : null,
    };
    this.entries.set(id, entry);
    this.save();
    return { token: `cairn_${id}_${secret}`, entry };
  }

  revoke(id: string): boolean {
    this.state.read(true);
    const existed = this.entries.delete(id);
    if (existed) this.save();
    return existed;
  }

  private save(): void {
    this.state.write({ version: 1, tokens: [...this.entries.values()] });
  }
}

/** Whether a principal's role allows an action needing `required`. Admin may do everything. */
export function roleAllows(role: Role, required: Role): boolean {
  return role === 'admin' || role === required;
}
