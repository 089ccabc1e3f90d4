/** Who is calling: a token (Bearer, Basic password, X-Cairn-Token, or a WebSocket subprotocol), or open local mode. */
import type { FastifyRequest } from 'fastify';
import type { Principal, Role, TokenStore } from '../auth/tokens.ts';
import { roleAllows } from '../auth/tokens.ts';
import { HttpError } from './errors.ts';

export interface Authenticator {
  /** open: no tokens, everything belongs to `openTenant`. */
  readonly mode: 'open' | 'token';
  readonly openTenant: string;
  readonly tokens: TokenStore;
}

export function tokenFromRequest(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const [scheme, value] = header.split(/\s+/, 2);
    if (scheme?.toLowerCase() === 'bearer' && value) return value;
    if (scheme?.toLowerCase() === 'basic' && value) {
      // Loki and Elasticsearch clients send credentials as Basic; the password is the token.
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 ? decoded.slice(colon + 1) : decoded;
    }
  }
  const custom = req.headers['x-cairn-token'];
  if (typeof custom === 'string' && custom) return custom;
  return tokenFromWebSocketProtocol(req.headers['sec-websocket-protocol']);
}

/**
 * Browsers cannot set headers on a WebSocket, so the web UI offers the token
 * as a subprotocol: `Sec-WebSocket-Protocol: cairn, cairn.token.<token>`
 * (the server selects "cairn", never echoing the token).
 */
export const WS_TOKEN_PREFIX = 'cairn.token.';

function tokenFromWebSocketProtocol(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(',')) {
    const p = part.trim();
    if (p.startsWith(WS_TOKEN_PREFIX) && p.length > WS_TOKEN_PREFIX.length) return p.slice(WS_TOKEN_PREFIX.length);
  }
  return undefined;
}

/** The outcome of checking a caller, in no transport's terms: HTTP maps it to 401/403, gRPC to UNAUTHENTICATED/PERMISSION_DENIED. */
export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; denied: 'unauthorized' | 'forbidden'; reason: 'missing' | 'invalid' | 'role'; message: string };

/** Resolves the principal a token (or open mode) stands for and checks its role. */
export function authorizeToken(auth: Authenticator, token: string | undefined, required: Role): AuthResult {
  if (auth.mode === 'open') return { ok: true, principal: { tenant: auth.openTenant, role: 'admin', tokenId: null } };
  if (!token) return { ok: false, denied: 'unauthorized', reason: 'missing', message: 'a token is required: send "Authorization: Bearer <token>"' };
  const result = auth.tokens.verify(token);
  if ('error' in result) return { ok: false, denied: 'unauthorized', reason: 'invalid', message: result.error };
  if (!roleAllows(result.role, required)) {
    return { ok: false, denied: 'forbidden', reason: 'role', message: `this token's role "${result.role}" cannot do this (needs "${required}")` };
  }
  return { ok: true, principal: result };
}

/** Resolves the caller and checks its role; throws 401 (who are you) or 403 (not allowed). */
export function authorize(auth: Authenticator, req: FastifyRequest, required: Role): Principal {
  const result = authorizeToken(auth, tokenFromRequest(req), required);
  if (result.ok) return result.principal;
  if (result.denied === 'forbidden') throw new HttpError(403, 'forbidden', result.message);
  const challenge = result.reason === 'invalid' ? 'Bearer realm="cairn", error="invalid_token"' : 'Bearer realm="cairn"';
  throw new HttpError(401, 'unauthorized', result.message, { headers: { 'www-authenticate': challenge } });
}
