import { afterEach, expect, it, vi } from 'vitest'
import axe from 'axe-core'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { clearEtagCache } from '../api/http'
import { changeText } from '../components/Change'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'
import Dashboard from './Dashboard'
import { seriesInterval } from './dashboardData'

// ECharts needs a laid-out page: the test reads the option each chart is given instead.
vi.mock('../components/Chart', () => ({
  Chart: ({ option, label }: { option: unknown; label: string }) => (
    <div role="img" aria-label={label} data-option={JSON.stringify(option)} />),
}))

afterEach(() => { vi.unstubAllGlobals(); clearEtagCache() })

const money = (amount: string) => ({ amount, currency: 'RUB', unconverted: [] })
const summary = { period: { from: '2026-12-01', to: '2026-12-31' }, base_currency: 'RUB', won: 3, win_rate: 0.75,
  revenue_won: money('1500.00'), stalled_deals: 1, open_amount: money('9000.00') }
const part = (data: unknown) => ({ data, partial: false })
const comparison = { mode: 'previous_period', period: { from: '2026-11-01', to: '2026-11-30' }, figures: {
  won: { value: 3, previous: 4, change: -1, change_pct: -25 },
  revenue_won: { value: 1500, previous: 1000, change: 500, change_pct: 50 },
  win_rate: { value: 0.75, previous: 0.5, change: 0.25, change_pct: 50 } } }
const bucket = (from: string, to: string, won: number, revenue: string) => ({ from, to, won, revenue_won: money(revenue) })

function gateway() {
  return fakeGateway({
    'GET /api/v1/dashboard': () => ({ body: { scope: 'all', summary: part(summary), funnel: part({ stages: [] }),
      managers: part({ items: [] }), stalled_deals: part({ items: [] }) } }),
    'GET /api/v1/kpi/summary': ({ path }) => {
      const search = new URLSearchParams(path.split('?')[1])
      if (search.get('compare')) return { body: { ...summary, comparison } }
      return { body: { ...summary, series: search.get('interval') === 'week'
        ? [bucket('2026-12-01', '2026-12-06', 1, '500.00'), bucket('2026-12-07', '2026-12-13', 2, '1000.00')]
        : [bucket('2026-01-01', '2026-01-31', 5, '7000.00')] } }
    },
    'GET /api/v1/kpi/*': () => ({ body: { items: [], stages: [] } }),
  })
}

it('shows each main figure next to its change against the previous period, coloured by whether it is good', async () => {
  const { seen } = gateway()
  renderScreen(<Dashboard />)
  const tiles = await screen.findByTestId('summary')
  await waitFor(() => expect(within(tiles).getAllByTestId('change')).toHaveLength(3))
  const [won, revenue, winRate] = within(tiles).getAllByTestId('change')
  expect(won).toHaveTextContent('▼ −25%')
  expect(won).toHaveClass('down', 'bad')
  expect(revenue).toHaveTextContent('▲ +50%')
  expect(revenue).toHaveClass('up', 'good')
  expect(revenue.getAttribute('title')).toMatch(/against .*2026.*–.*2026.*RUB/)
  expect(winRate).toHaveTextContent('▲ +25 pp')  // points, not a % of a %
  const audit = await axe.run(tiles, { rules: { 'color-contrast': { enabled: false } } })  // no layout in jsdom
  expect(audit.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([])
  const compared = seen.find((s) => s.path.includes('compare='))
  expect(compared?.path).toMatch(/^\/api\/v1\/kpi\/summary\?from=\d{4}-\d\d-01&to=\d{4}-\d\d-\d\d&compare=previous_period$/)
})

it('charts the revenue per week for a month and per month for a year', async () => {
  const { seen } = gateway()
  renderScreen(<Dashboard />)
  const chart = await screen.findByRole('img', { name: 'Revenue and deals won by week' })
  await waitFor(() => expect(JSON.parse(chart.dataset.option ?? '{}').xAxis.data).toEqual(['2026-12-01', '2026-12-07']))
  const option = JSON.parse(chart.dataset.option ?? '{}')
  expect(option.series[0].data).toEqual([500, 1000])
  expect(option.series[1].data).toEqual([1, 2])
  fireEvent.click(screen.getByRole('button', { name: 'This year' }))
  const yearly = await screen.findByRole('img', { name: 'Revenue and deals won by month' })
  await waitFor(() => expect(JSON.parse(yearly.dataset.option ?? '{}').series[0].data).toEqual([7000]))
  expect(seen.some((s) => /interval=month/.test(s.path))).toBe(true)
  expect(seen.some((s) => /interval=week/.test(s.path))).toBe(true)
})

it('words a change without a percentage and picks the interval by the period length', () => {
  expect(changeText({ value: 2, previous: 0, change: 2, change_pct: null })).toBe('+2')
  expect(changeText({ value: 0, previous: 0, change: 0, change_pct: null })).toBe('±0')
  expect(changeText({ value: null, previous: 1, change: null, change_pct: null })).toBe('—')
  expect(seriesInterval({ from: '2026-01-01', to: '2026-03-03' })).toBe('week')  // 62 days
  expect(seriesInterval({ from: '2026-01-01', to: '2026-03-04' })).toBe('month')
})
