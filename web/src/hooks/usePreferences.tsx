/**
 * The viewer's preferences, kept in localStorage (not in the URL: a shared
 * link shows the same view in the recipient's own theme and time zone).
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { Zone } from '../lib/time.ts';

export type Theme = 'light' | 'dark';

interface Preferences {
  theme: Theme;
  zone: Zone;
  toggleTheme(): void;
  toggleZone(): void;
}

const PreferencesContext = createContext<Preferences | null>(null);

function systemTheme(): Theme {
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function PreferencesProvider({ children }: { children: ReactNode }) {
  const [chosen, setChosen] = useState<Theme | null>(() => (localStorage.getItem('cairn.theme') as Theme | null) ?? null);
  const [system, setSystem] = useState<Theme>(systemTheme);
  const [zone, setZone] = useState<Zone>(() => (localStorage.getItem('cairn.zone') === 'utc' ? 'utc' : 'local'));
  const theme = chosen ?? system;

  useEffect(() => {
    const media = window.matchMedia?.('(prefers-color-scheme: dark)');
    const onChange = () => setSystem(systemTheme());
    media?.addEventListener('change', onChange);
    return () => media?.removeEventListener('change', onChange);
  }, []);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  const toggleTheme = useCallback(() => {
    const next = theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem('cairn.theme', next);
    setChosen(next);
  }, [theme]);

  const toggleZone = useCallback(() => {
    setZone((z) => {
      const next = z === 'utc' ? 'local' : 'utc';
      localStorage.setItem('cairn.zone', next);
      return next;
    });
  }, []);

  const value = useMemo(() => ({ theme, zone, toggleTheme, toggleZone }), [theme, zone, toggleTheme, toggleZone]);
  return <PreferencesContext.Provider value={value}>{children}</PreferencesContext.Provider>;
}

export function usePreferences(): Preferences {
  const p = useContext(PreferencesContext);
  if (!p) throw new Error('usePreferences outside PreferencesProvider');
  return p;
}
