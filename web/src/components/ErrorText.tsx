import { ApiError } from '../lib/api.ts';

/** A failed request's message; nothing for a 401, which the sign-in form answers. */
export function ErrorText({ error, className = 'error' }: { error: unknown; className?: string }) {
  if (!error || (error instanceof ApiError && error.status === 401)) return null;
  return (
    <div className={className} role="alert">
      {error instanceof Error ? error.message : String(error)}
    </div>
  );
}
