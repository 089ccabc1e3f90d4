/**
 * Token login, shown when the server refused a request for want of a valid
 * token (a 401). The token is checked against the API before it is kept.
 */
import { useState } from 'react';
import { KeyRound } from 'lucide-react';
import { ApiError, apiGet } from '../lib/api.ts';
import { clearToken, setToken } from '../lib/auth.ts';

export function Login({ reason, onDone }: { reason: string; onDone(): void }) {
  const [token, setTokenText] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  return (
    <div className="overlay">
      <form
        className="panel login"
        aria-label="Sign in"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError('');
          setToken(token.trim(), remember);
          try {
            await apiGet('/api/v1/fields', { sample: 1, from: 'now-1m' });
            onDone();
          } catch (err) {
            clearToken();
            setError(err instanceof ApiError && err.status === 401 ? `This token was refused: ${err.message}` : (err as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>
          <KeyRound size={18} /> Sign in to Cairn
        </h1>
        <p className="muted">
          This server requires a token with the <code>read</code> role. Create one with <code>cairn token create --role read</code>.
        </p>
        {reason && !/token is required/.test(reason) && <p className="muted">{reason}</p>}
        <input type="password" autoFocus required placeholder="cairn_…" aria-label="Token" value={token} onChange={(e) => setTokenText(e.target.value)} autoComplete="current-password" />
        <label className="row">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} /> Remember on this device
        </label>
        {error && <div className="error" role="alert">{error}</div>}
        <button className="btn primary" type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
    </div>
  );
}
