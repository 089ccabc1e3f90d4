import { useState } from 'react';

/**
 * "Now" for a search: fixed while the search stays the same, so relative
 * ranges resolve to the same bounds for every request of it (histogram,
 * results, their pages); a new search, or refresh(), takes a new one.
 */
export function useSearchNow(searchKey: string): [number, () => void] {
  const [now, setNow] = useState(() => ({ key: searchKey, ms: Date.now() }));
  if (now.key !== searchKey) setNow({ key: searchKey, ms: Date.now() });
  return [now.key === searchKey ? now.ms : Date.now(), () => setNow({ key: searchKey, ms: Date.now() })];
}
