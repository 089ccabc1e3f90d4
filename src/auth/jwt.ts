/**
 * JWT tokens: signed, self-describing tokens with an expiry (what agents
 * carry), next to the opaque `cairn_` tokens.
 *
 * Design note: one Ed25519 key pair per data directory, made by the first
 * `cairn token create --jwt` and kept as `<data>/auth/jwt-ed25519.pem` (PKCS#8,
 * mode 0600); the server reads the public half from it, and re-reads it when
 * the file changes, like the token file. Claims: iss "cairn", tenant, role,
 * jti (an id in the token store, which is what makes revocation work), iat,
 * exp (always set). Verification runs on every request and every agent batch
 * inside the synchronous authorizeToken, so the signature is checked with
 * node:crypto (synchronous); jose signs and decodes (it only verifies
 * asynchronously).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, verify as verifySignature, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { fileVersion, writeFileAtomic } from '../util/atomic-file.ts';

export const JWT_ISSUER = 'cairn';
const ALG = 'EdDSA';
/** Three base64url parts, the header starting with `{"` (`eyJ`). */
export const JWT_PATTERN = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function jwtKeyPath(dataDir: string): string {
  return join(dataDir, 'auth', 'jwt-ed25519.pem');
}

/** The data directory's signing key, created (0600) on first use. */
export function loadOrCreateSigningKey(dataDir: string): KeyObject {
  const file = jwtKeyPath(dataDir);
  try {
    return createPrivateKey(readFileSync(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: ${(err as Error).message}`);
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileAtomic(file, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  return privateKey;
}

export interface JwtClaims {
  tenant: string;
  /** Checked against the token store's entry for the jti. */
  role: string;
  jti: string;
  /** Expiry, ms since the epoch. */
  expiresMs: number;
}

export function signJwt(key: KeyObject, claims: JwtClaims): Promise<string> {
  return new SignJWT({ tenant: claims.tenant, role: claims.role })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setIssuer(JWT_ISSUER)
    .setJti(claims.jti)
    .setIssuedAt()
    .setExpirationTime(Math.floor(claims.expiresMs / 1000))
    .sign(key);
}

/** Checks JWTs against the data directory's public key. */
export class JwtVerifier {
  private readonly file: string;
  private key: KeyObject | null = null;
  private loadedVersion = '';
  private lastCheck = 0;

  constructor(dataDir: string) {
    this.file = jwtKeyPath(dataDir);
  }

  private publicKey(): KeyObject | null {
    const now = Date.now();
    if (now - this.lastCheck < 1000 && this.loadedVersion) return this.key;
    this.lastCheck = now;
    let version: string;
    try {
      version = fileVersion(this.file);
    } catch {
      this.key = null;
      this.loadedVersion = 'missing';
      return null;
    }
    if (version !== this.loadedVersion) {
      this.key = createPublicKey(createPrivateKey(readFileSync(this.file)));
      this.loadedVersion = version;
    }
    return this.key;
  }

  /** The token's claims when its signature, issuer, algorithm and expiry hold; else why not. */
  verify(token: string, now = Date.now()): JwtClaims | { error: string } {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let payload: ReturnType<typeof decodeJwt>;
    try {
      header = decodeProtectedHeader(token);
      payload = decodeJwt(token);
    } catch {
      return { error: 'malformed token' };
    }
    if (header.alg !== ALG) return { error: `JWT algorithm ${String(header.alg)} is not accepted (EdDSA)` };
    const key = this.publicKey();
    if (!key) return { error: 'unknown or revoked token' };
    const dot = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    if (!verifySignature(null, Buffer.from(token.slice(0, dot)), key, signature)) return { error: 'unknown or revoked token' };
    const { tenant, role, jti, exp, iss } = payload as { tenant?: unknown; role?: unknown; jti?: unknown; exp?: unknown; iss?: unknown };
    if (iss !== JWT_ISSUER || typeof tenant !== 'string' || typeof role !== 'string' || typeof jti !== 'string') return { error: 'malformed token' };
    if (typeof exp !== 'number') return { error: 'a JWT must carry an expiry (exp)' };
    if (exp * 1000 <= now) return { error: 'token expired' };
    return { tenant, role, jti, expiresMs: exp * 1000 };
  }
}
