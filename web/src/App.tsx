/** The frame: navigation, theme and time-zone toggles, sign-out, the current view, and the login form when needed. */
import { useEffect, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Activity, Globe, Layers, LogOut, Moon, Radio, Search, Sun } from 'lucide-react';
import logo from './favicon.svg';
import { clearToken, getToken, onAuthRequired } from './lib/auth.ts';
import { formatUrl, switchView, type View } from './lib/url-state.ts';
import { useAppState } from './hooks/useAppState.ts';
import { usePreferences } from './hooks/usePreferences.tsx';
import { Login } from './components/Login.tsx';
import { Explore } from './views/Explore.tsx';
import { LiveTail } from './views/LiveTail.tsx';
import { Patterns } from './views/Patterns.tsx';
import { Related } from './views/Related.tsx';
import { System } from './views/System.tsx';

const NAV: { view: View; label: string; icon: ReactNode }[] = [
  { view: 'explore', label: 'Explore', icon: <Search size={16} /> },
  { view: 'live', label: 'Live tail', icon: <Radio size={16} /> },
  { view: 'patterns', label: 'Patterns', icon: <Layers size={16} /> },
  { view: 'system', label: 'System', icon: <Activity size={16} /> },
];

const TITLES: Record<View, string> = { explore: 'Explore', live: 'Live tail', patterns: 'Patterns', related: 'Related records', system: 'System' };

export function App() {
  const [state, go] = useAppState();
  const { theme, zone, toggleTheme, toggleZone } = usePreferences();
  const queryClient = useQueryClient();
  const [loginReason, setLoginReason] = useState<string | null>(null);
  const [signedIn, setSignedIn] = useState(() => getToken() !== null);
  /** Bumped at each sign-in, so views holding connections (live tail) open them again with the token. */
  const [session, setSession] = useState(0);

  useEffect(() => onAuthRequired((message) => setLoginReason(message)), []);
  useEffect(() => {
    document.title = `${TITLES[state.view]}${state.q ? `: ${state.q}` : ''} · Cairn`;
  }, [state.view, state.q]);

  const fill = state.view === 'explore' || state.view === 'live';
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="/" onClick={(e) => (e.preventDefault(), go(switchView(state, 'explore')))}>
          <img src={logo} alt="" />
          <span>Cairn</span>
        </a>
        <nav className="nav" aria-label="Views">
          {NAV.map((n) => {
            const target = switchView(state, n.view);
            return (
              <a
                key={n.view}
                href={formatUrl(target)}
                aria-current={state.view === n.view ? 'page' : undefined}
                title={n.label}
                onClick={(e) => {
                  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
                  e.preventDefault();
                  go(target);
                }}
              >
                {n.icon}
                <span>{n.label}</span>
              </a>
            );
          })}
        </nav>
        <div className="tools">
          <button className="btn icon" onClick={toggleZone} title={zone === 'utc' ? 'Times in UTC: show local time' : 'Times in local time: show UTC'} aria-label="Time zone">
            <Globe size={15} /> {zone === 'utc' ? 'UTC' : 'Local'}
          </button>
          <button className="btn icon" onClick={toggleTheme} title={theme === 'dark' ? 'Light theme' : 'Dark theme'} aria-label="Toggle theme">
            {theme === 'dark' ? <Sun size={15} /> : <Moon size={15} />}
          </button>
          {signedIn && (
            <button
              className="btn icon"
              title="Sign out"
              aria-label="Sign out"
              onClick={() => {
                clearToken();
                setSignedIn(false);
                queryClient.clear();
                setLoginReason('Signed out.');
              }}
            >
              <LogOut size={15} />
            </button>
          )}
        </div>
      </header>
      <main className={`main${fill ? ' fill' : ''}`}>
        {state.view === 'explore' && <Explore state={state} go={go} />}
        {state.view === 'live' && <LiveTail key={`${session}:${state.q}`} state={state} go={go} />}
        {state.view === 'patterns' && <Patterns state={state} go={go} />}
        {state.view === 'related' && <Related state={state} go={go} />}
        {state.view === 'system' && <System />}
      </main>
      {loginReason !== null && (
        <Login
          reason={loginReason}
          onDone={() => {
            setLoginReason(null);
            setSignedIn(true);
            setSession((n) => n + 1);
            void queryClient.resetQueries();
          }}
        />
      )}
    </div>
  );
}
