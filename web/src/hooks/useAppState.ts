/** The app's state is the URL (lib/url-state.ts): reading it, and changing it through the History API. */
import { useCallback, useSyncExternalStore } from 'react';
import { formatUrl, parseUrl, type AppState } from '../lib/url-state.ts';

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

export interface NavigateOptions {
  /** Replace the current history entry (selection changes) instead of adding one (new searches). */
  replace?: boolean;
}

export function navigate(state: AppState, options: NavigateOptions = {}): void {
  const url = formatUrl(state);
  if (url === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  for (const l of listeners) l();
  if (!options.replace) window.scrollTo(0, 0);
}

export function useAppState(): [AppState, (next: AppState, options?: NavigateOptions) => void] {
  const url = useSyncExternalStore(subscribe, snapshot);
  const [path, search] = splitUrl(url);
  const state = parseUrl(path, search);
  const go = useCallback((next: AppState, options?: NavigateOptions) => navigate(next, options), []);
  return [state, go];
}

function splitUrl(url: string): [string, string] {
  const i = url.indexOf('?');
  return i < 0 ? [url, ''] : [url.slice(0, i), url.slice(i)];
}
