// The dashboard's requests, in the main chunk: they start while the dashboard's own chunk (charts) is loading.
import { api, query } from '../api/http'
import { queryClient } from '../queryClient'

export interface Period { from: string; to: string }
const iso = (d: Date) => d.toISOString().slice(0, 10)

export function presetPeriod(preset: string, today: Date = new Date()): Period {
  const y = today.getUTCFullYear(), m = today.getUTCMonth()
  const utc = (year: number, month: number, day: number) => new Date(Date.UTC(year, month, day))
  switch (preset) {
    case 'lastMonth': return { from: iso(utc(y, m - 1, 1)), to: iso(utc(y, m, 0)) }
    case 'thisQuarter': { const q = Math.floor(m / 3) * 3; return { from: iso(utc(y, q, 1)), to: iso(utc(y, q + 3, 0)) } }
    case 'thisYear': return { from: iso(utc(y, 0, 1)), to: iso(utc(y, 11, 31)) }
    default: return { from: iso(utc(y, m, 1)), to: iso(utc(y, m + 1, 0)) }
  }
}


export function dashboardQuery<T>(period: Period) {
  return { queryKey: ['dashboard', period], queryFn: () => api.get<T>('/dashboard' + query({ from: period.from, to: period.to })) }
}

export function kpiQuery<T>(name: string, period: Period) {
  return { queryKey: ['kpi', name, period], queryFn: () => api.get<T>(`/kpi/${name}` + query({ from: period.from, to: period.to })) }
}

/** This period against the previous one (this month against the last, a quarter against the one before). */
export function comparedSummaryQuery<T>(period: Period) {
  return { queryKey: ['kpi', 'summary', 'compared', period],
    queryFn: () => api.get<T>('/kpi/summary' + query({ from: period.from, to: period.to, compare: 'previous_period' })) }
}

/** Weeks for a period up to about two months, else months: a chart of a dozen or so bars either way. */
export function seriesInterval(period: Period): 'week' | 'month' {
  const days = (Date.parse(period.to) - Date.parse(period.from)) / 86_400_000 + 1
  return days <= 62 ? 'week' : 'month'
}

export function seriesQuery<T>(period: Period) {
  const interval = seriesInterval(period)
  return { queryKey: ['kpi', 'summary', interval, period],
    queryFn: () => api.get<T>('/kpi/summary' + query({ from: period.from, to: period.to, interval })) }
}

/** Ask for this month's main figures at once (the screen opens on this month); the other KPIs wait for them
 * (see the dashboard), so they do not compete with the first screen for the analytics service. */
export function prefetchDashboard() {
  void queryClient.prefetchQuery(dashboardQuery(presetPeriod('thisMonth')))
}
