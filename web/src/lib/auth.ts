/**
 * The API token the UI sends, when the server requires one. Kept in
 * sessionStorage (gone when the tab closes), or in localStorage when the
 * person asked to be remembered on this device. Listeners hear when a
 * request was refused for want of a valid token, which opens the login form.
 */

const KEY = 'cairn.token';

export function getToken(): string | null {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
}

export function setToken(token: string, remember: boolean): void {
  clearToken();
  (remember ? localStorage : sessionStorage).setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

type Listener = (message: string) => void;
const listeners = new Set<Listener>();

export function onAuthRequired(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function authRequired(message: string): void {
  for (const l of listeners) l(message);
}

/**
 * WebSocket subprotocols carrying the token: browsers cannot set headers on
 * a WebSocket, so the server also reads `cairn.token.<token>` from
 * Sec-WebSocket-Protocol (src/api/auth.ts) and answers with "cairn".
 */
export function webSocketProtocols(): string[] {
  const token = getToken();
  return token ? ['cairn', `cairn.token.${token}`] : [];
}
