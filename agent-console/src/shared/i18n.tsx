// zh-CN and en everywhere. Each area keeps its own messages (defineMessages checks both languages have
// every key); the chosen language is remembered per browser and mirrored on <html lang>.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

export type Locale = 'zh-CN' | 'en';
export const LOCALES: readonly Locale[] = ['zh-CN', 'en'];
const STORAGE_KEY = 'facesign.locale';

export type Messages<K extends string> = Record<Locale, Record<K, string>>;

export function defineMessages<K extends string>(messages: Messages<K>): Messages<K> {
  return messages;
}

export function isLocale(value: unknown): value is Locale {
  return value === 'zh-CN' || value === 'en';
}

/** A stored choice wins; otherwise the browser's language (any zh → zh-CN), otherwise the fallback. */
export function preferredLocale(fallback: Locale = 'en'): Locale {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (isLocale(stored)) return stored;
  } catch {
    // storage may be disabled; the browser language still decides
  }
  const browser = typeof navigator !== 'undefined' ? navigator.language : '';
  if (browser.toLowerCase().startsWith('zh')) return 'zh-CN';
  if (browser.toLowerCase().startsWith('en')) return 'en';
  return fallback;
}

interface LocaleState {
  locale: Locale;
  setLocale(locale: Locale): void;
}

const LocaleContext = createContext<LocaleState>({ locale: 'en', setLocale: () => undefined });

export function LocaleProvider({ initial, children }: { initial?: Locale; children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(() => initial ?? preferredLocale());
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const setLocale = useCallback((next: Locale) => {
    setLocaleState(next);
    try {
      localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // not remembered, still applied
    }
  }, []);
  const value = useMemo(() => ({ locale, setLocale }), [locale, setLocale]);
  return <LocaleContext.Provider value={value}>{children}</LocaleContext.Provider>;
}

export function useLocale(): LocaleState {
  return useContext(LocaleContext);
}

export type Translate<K extends string> = (key: K, params?: Record<string, string | number>) => string;

/** `t('key', { n: 3 })` replaces `{n}` in the message. */
export function useT<K extends string>(messages: Messages<K>): Translate<K> {
  const { locale } = useLocale();
  return useCallback(
    (key: K, params?: Record<string, string | number>) => {
      const text = messages[locale][key];
      return params ? text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole)) : text;
    },
    [messages, locale],
  );
}

/** A bilingual text from the server ({ 'zh-CN': ..., en: ... }) in the current language. */
export function useLocalized(): (text: Partial<Record<Locale, string>> | null | undefined) => string {
  const { locale } = useLocale();
  return useCallback((text) => (text ? (text[locale] ?? text.en ?? text['zh-CN'] ?? '') : ''), [locale]);
}

export function LanguageSwitcher({ label = 'Language / 语言' }: { label?: string }) {
  const { locale, setLocale } = useLocale();
  return (
    <label className="lang-switch">
      <span className="visually-hidden">{label}</span>
      <select aria-label={label} value={locale} onChange={(e) => isLocale(e.target.value) && setLocale(e.target.value)}>
        <option value="zh-CN">中文</option>
        <option value="en">English</option>
      </select>
    </label>
  );
}

export function formatDateTime(iso: string, locale: Locale, options: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'short' }): string {
  return new Intl.DateTimeFormat(locale, options).format(new Date(iso));
}

/** mm:ss (or h:mm:ss) from milliseconds. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}
