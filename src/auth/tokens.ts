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
 *
 * JWTs (jwt.ts) are entries too, of kind "jwt" without a hash: the entry is
 * what a JWT's jti must name, so revoking it (deleting the entry) refuses the
 * token at once, whatever its expiry says.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { SharedJsonFile } from '../util/atomic-file.ts';
import { JWT_PATTERN, JwtVerifier, loadOrCreateSigningKey, signJwt } from './jwt.ts';

export const ROLES = ['ingest', 'read', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenEntry {
  id: string;
  /** opaque (`cairn_<id>_<secret>`, the default) or jwt (the id is the JWT's jti). */
  kind?: 'opaque' | 'jwt';
  /** hex SHA-256 of the secret part; empty for JWTs */
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
  private readonly dataDir: string;
  private readonly jwts: JwtVerifier;
  private entries = new Map<string, TokenEntry>();

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.jwts = new JwtVerifier(dataDir);
    this.state = new SharedJsonFile<TokenFile>(
      tokenFilePath(dataDir),
      () => ({ version: 1, tokens: [] }),
      (_before, after) => (this.entries = new Map(after.tokens.map((t) => [t.id, t]))),
    );
  }

  /** The principal a token stands for, or a reason it does not stand for one. */
  verify(token: string, now = Date.now()): Principal | { error: string } {
    const text = token.trim();
    if (JWT_PATTERN.test(text)) return this.verifyJwt(text, now);
    const m = TOKEN_PATTERN.exec(text);
    if (!m) return { error: 'malformed token' };
    this.state.read();
    const entry = this.entries.get(m[1]!);
    if (!entry || entry.kind === 'jwt') return { error: 'unknown or revoked token' };
    const given = Buffer.from(sha256Hex(m[2]!), 'hex');
    const stored = Buffer.from(entry.hash, 'hex');
    if (given.length !== stored.length || !timingSafeEqual(given, stored)) return { error: 'unknown or revoked token' };
    if (entry.expires && Date.parse(entry.expires) <= now) return { error: 'token expired' };
    return { tenant: entry.tenant, role: entry.role, tokenId: entry.id };
  }

  private verifyJwt(token: string, now: number): Principal | { error: string } {
    const claims = this.jwts.verify(token, now);
    if ('error' in claims) return claims;
    this.state.read();
    const entry = this.entries.get(claims.jti);
    // The entry must agree with the claims: a signed token never widens what was issued.
    if (!entry || entry.kind !== 'jwt' || entry.tenant !== claims.tenant || entry.role !== claims.role) return { error: 'unknown or revoked token' };
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

  /** Issues a JWT (signed with the data directory's key, made on first use); it must expire. */
  async createJwt(opts: { tenant: string; role: Role; expiresMs: number; name?: string }): Promise<{ token: string; entry: TokenEntry }> {
    const key = loadOrCreateSigningKey(this.dataDir);
    this.state.read(true);
    const id = randomBytes(6).toString('hex');
    const now = new Date();
    // Whole seconds, as exp carries them, so the entry and the token expire together.
    const expires = new Date(Math.floor((now.getTime() + opts.expiresMs) / 1000) * 1000);
    const token = await signJwt(key, { tenant: opts.tenant, role: opts.role, jti: id, expiresMs: expires.getTime() });
    const entry: TokenEntry = { id, kind: 'jwt', hash: '', tenant: opts.tenant, role: opts.role, name: opts.name ?? '', created: now.toISOString(), expires: expires.toISOString() };
    this.entries.set(id, entry);
    this.save();
    return { token, entry };
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
