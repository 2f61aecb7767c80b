import { expect, it } from 'vitest'
import { formatMoney, preferredLocale, translate } from './i18n'
import { presetPeriod } from './screens/dashboardData'

it('speaks Russian to a browser that prefers it, English otherwise', () => {
  expect(preferredLocale(['ru-RU', 'en'])).toBe('ru')
  expect(preferredLocale(['de-DE', 'en-US', 'ru'])).toBe('en')
  expect(preferredLocale(['de-DE'])).toBe('en')
})

it('formats money for the locale and fills placeholders', () => {
  expect(formatMoney('ru', '1234567.00', 'RUB').replace(/\s/g, ' ')).toBe('1 234 567 ₽')
  expect(formatMoney('en', 1500, 'USD')).toBe('$1,500')
  expect(translate('ru', 'daysInStage', { days: 4 })).toBe('4 дн. на этапе')
})

it('picks the form of a count the language asks for', () => {
  expect([1, 2, 5].map((count) => translate('en', 'dealsOnBoard', { count }))).toEqual(['1 deal', '2 deals', '5 deals'])
  expect([1, 3, 5, 21, 111].map((count) => translate('ru', 'dealsOnBoard', { count })))
    .toEqual(['1 сделка', '3 сделки', '5 сделок', '21 сделка', '111 сделок'])
})

it('turns a period preset into first and last days', () => {
  const today = new Date(Date.UTC(2026, 1, 14))
  expect(presetPeriod('thisMonth', today)).toEqual({ from: '2026-02-01', to: '2026-02-28' })
  expect(presetPeriod('lastMonth', today)).toEqual({ from: '2026-01-01', to: '2026-01-31' })
  expect(presetPeriod('thisQuarter', today)).toEqual({ from: '2026-01-01', to: '2026-03-31' })
  expect(presetPeriod('thisYear', today)).toEqual({ from: '2026-01-01', to: '2026-12-31' })
})
