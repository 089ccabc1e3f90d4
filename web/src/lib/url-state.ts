/**
 * The whole view lives in the URL, so a link reproduces it: the path names
 * the view, query parameters hold the rest, and defaults are left out so
 * links stay short (`/?q=timeout` is Explore on "timeout" over the last hour).
 *
 *   /          Explore   q, from, to, sel (the expanded record's id)
 *   /live      Live tail q
 *   /patterns  Patterns  q, from, to
 *   /related   Related   id, window (seconds either side)
 *   /system    System
 *
 * The server answers these paths with the app (src/api/web.ts CLIENT_ROUTES).
 */

export const VIEWS = ['explore', 'live', 'patterns', 'related', 'system'] as const;
export type View = (typeof VIEWS)[number];

const PATHS: Record<View, string> = {
  explore: '/',
  live: '/live',
  patterns: '/patterns',
  related: '/related',
  system: '/system',
};

export interface AppState {
  view: View;
  /** Search text; '' matches everything. */
  q: string;
  /** Range bounds as typed: '' is the default (now-1h → now). */
  from: string;
  to: string;
  /** Explore: id of the expanded record. */
  sel: string;
  /** Related: the record whose relatives are shown. */
  id: string;
  /** Related: neighbours within this many seconds; 0 is the server's default. */
  window: number;
}

export const DEFAULT_STATE: AppState = { view: 'explore', q: '', from: '', to: '', sel: '', id: '', window: 0 };

/** Which parameters each view keeps; the others are dropped when switching views. */
const VIEW_PARAMS: Record<View, (keyof AppState)[]> = {
  explore: ['q', 'from', 'to', 'sel'],
  live: ['q'],
  patterns: ['q', 'from', 'to'],
  related: ['id', 'window'],
  system: [],
};

export function parseUrl(pathname: string, search: string): AppState {
  const path = pathname.replace(/\/+$/, '') || '/';
  const view = (Object.keys(PATHS) as View[]).find((v) => PATHS[v] === path) ?? 'explore';
  const p = new URLSearchParams(search);
  const windowS = Number(p.get('window') ?? '');
  const state: AppState = {
    view,
    q: p.get('q') ?? '',
    from: p.get('from') ?? '',
    to: p.get('to') ?? '',
    sel: p.get('sel') ?? '',
    id: p.get('id') ?? '',
    window: Number.isFinite(windowS) && windowS > 0 ? Math.round(windowS) : 0,
  };
  return keepViewParams(state);
}

function keepViewParams(state: AppState): AppState {
  const out: AppState = { ...DEFAULT_STATE, view: state.view };
  for (const key of VIEW_PARAMS[state.view]) (out as unknown as Record<string, unknown>)[key] = state[key];
  return out;
}

export function formatUrl(state: AppState): string {
  const s = keepViewParams(state);
  const p = new URLSearchParams();
  for (const key of VIEW_PARAMS[s.view]) {
    const value = s[key];
    if (value !== DEFAULT_STATE[key]) p.set(key, String(value));
  }
  const query = p.toString();
  return `${PATHS[s.view]}${query ? `?${query}` : ''}`;
}

/** The state after navigating to another view: the query and range follow where the view has them. */
export function switchView(state: AppState, view: View): AppState {
  return keepViewParams({ ...state, view, sel: view === 'explore' ? state.sel : '' });
}
