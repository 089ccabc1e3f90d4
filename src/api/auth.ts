/** Who is calling: a token (Bearer, Basic password, or X-Cairn-Token), or open local mode. */
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
  return undefined;
}

/** Resolves the caller and checks its role; throws 401 (who are you) or 403 (not allowed). */
export function authorize(auth: Authenticator, req: FastifyRequest, required: Role): Principal {
  if (auth.mode === 'open') return { tenant: auth.openTenant, role: 'admin', tokenId: null };
  const token = tokenFromRequest(req);
  if (!token) {
    throw new HttpError(401, 'unauthorized', 'a token is required: send "Authorization: Bearer <token>"', {
      headers: { 'www-authenticate': 'Bearer realm="cairn"' },
    });
  }
  const result = auth.tokens.verify(token);
  if ('error' in result) {
    throw new HttpError(401, 'unauthorized', result.error, { headers: { 'www-authenticate': 'Bearer realm="cairn", error="invalid_token"' } });
  }
  if (!roleAllows(result.role, required)) {
    throw new HttpError(403, 'forbidden', `this token's role "${result.role}" cannot do this (needs "${required}")`);
  }
  return result;
}
