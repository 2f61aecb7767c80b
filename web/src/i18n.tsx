// A small i18n: Russian when the browser prefers it, English otherwise; Intl for money and dates.
import { createContext, useContext, useMemo, useState, type ReactNode } from 'react'
import { en } from './locales/en'
import { ru } from './locales/ru'

export type Locale = 'ru' | 'en'
export type Key = keyof typeof en
const dictionaries: Record<Locale, Record<Key, string>> = { en, ru }

export function preferredLocale(languages: readonly string[] = navigator.languages ?? [navigator.language]): Locale {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('glassbox.locale') : null
  if (saved === 'ru' || saved === 'en') return saved
  const first = languages.find((lang) => /^(ru|en)\b/i.test(lang))
  return first?.toLowerCase().startsWith('ru') ? 'ru' : 'en'
}

// A text with forms for a number (`{count}`) lists them in this order, separated by `|` ("1 deal|{count} deals").
const PLURAL_FORMS: Record<Locale, Intl.LDMLPluralRule[]> = { en: ['one', 'other'], ru: ['one', 'few', 'many', 'other'] }
const pluralRules: Partial<Record<Locale, Intl.PluralRules>> = {}

function pluralForm(locale: Locale, text: string, count: number): string {
  const forms = text.split('|')
  const rules = pluralRules[locale] ??= new Intl.PluralRules(locale === 'ru' ? 'ru-RU' : 'en-US')
  const index = PLURAL_FORMS[locale].indexOf(rules.select(count))
  return forms[index >= 0 && index < forms.length ? index : forms.length - 1]
}

export function translate(locale: Locale, key: Key, vars: Record<string, string | number> = {}): string {
  let text: string = dictionaries[locale][key] ?? en[key] ?? key
  if (text.includes('|') && typeof vars.count === 'number') text = pluralForm(locale, text, vars.count)
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? `{${name}}`))
}

// Building an Intl formatter costs far more than using one (a board of 500 cards spent ~100 ms building them):
// one per locale and currency or style, kept for the page's life.
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>()

function cached<T extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => T): T {
  let formatter = formatters.get(key) as T | undefined
  if (!formatter) formatters.set(key, formatter = make())
  return formatter
}

export function formatMoney(locale: Locale, amount: string | number, currency: string): string {
  const value = typeof amount === 'string' ? Number(amount) : amount
  return cached(`money ${locale} ${currency}`, () => new Intl.NumberFormat(locale === 'ru' ? 'ru-RU' : 'en-US',
    { style: 'currency', currency, maximumFractionDigits: 0 })).format(value)
}

export function formatDate(locale: Locale, iso: string | null | undefined, withTime = false): string {
  if (!iso) return '—'
  const options: Intl.DateTimeFormatOptions = withTime
    ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }
  return cached(`date ${locale} ${withTime}`, () => new Intl.DateTimeFormat(locale === 'ru' ? 'ru-RU' : 'en-GB', options))
    .format(new Date(iso))
}

interface I18n {
  locale: Locale; setLocale: (locale: Locale) => void
  t: (key: Key, vars?: Record<string, string | number>) => string
  money: (amount: string | number, currency: string) => string
  date: (iso: string | null | undefined, withTime?: boolean) => string
}
const I18nContext = createContext<I18n | null>(null)

export function I18nProvider({ children, initial }: { children: ReactNode; initial?: Locale }) {
  const [locale, setLocaleState] = useState<Locale>(initial ?? preferredLocale())
  const value = useMemo<I18n>(() => ({
    locale,
    setLocale: (next) => { localStorage.setItem('glassbox.locale', next); document.documentElement.lang = next; setLocaleState(next) },
    t: (key, vars) => translate(locale, key, vars),
    money: (amount, currency) => formatMoney(locale, amount, currency),
    date: (iso, withTime) => formatDate(locale, iso, withTime),
  }), [locale])
  document.documentElement.lang = locale
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>
}

export function useI18n(): I18n {
  const value = useContext(I18nContext)
  if (!value) throw new Error('useI18n outside I18nProvider')
  return value
}
