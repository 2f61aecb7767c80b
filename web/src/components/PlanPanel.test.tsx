import { afterEach, expect, it, vi } from 'vitest'
import { screen, within } from '@testing-library/react'
import { clearEtagCache } from '../api/http'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'
import { PlanPanel, planPeriod } from './PlanPanel'

afterEach(() => { vi.unstubAllGlobals(); clearEtagCache() })

const rub = (amount: string) => ({ amount, currency: 'RUB', unconverted: [] })
const measure = (target: string | null, actual: string, pct: number | null) =>
  ({ target: target ? rub(target) : null, actual: rub(actual), attainment_pct: pct, run_rate: rub(actual) })
const anna = { manager_id: 'a', name: 'Anna', revenue_won: measure('1000000.00', '540000.00', 54), gap: { deals: 2 } }
const boris = { manager_id: 'b', name: 'Boris', revenue_won: measure('400000.00', '430000.00', 107.5), gap: { deals: 0 } }
const carl = { manager_id: 'c', name: 'Carl', revenue_won: measure(null, '100.00', null), gap: { deals: null } }

it('shows each manager with a revenue target: target, actual, attainment and the deals to go', async () => {
  const { seen } = fakeGateway({ 'GET /api/v1/kpi/plans': () => ({ body: { managers: [anna, boris, carl], teams: [] } }) })
  renderScreen(<PlanPanel period={{ from: '2027-04-01', to: '2027-04-30' }} />)
  const table = await screen.findByRole('region', { name: 'Plan' })
  const rows = within(table).getAllByRole('row').slice(1)
  expect(rows).toHaveLength(2)  // Carl's plan has no revenue target
  expect(rows[0]).toHaveTextContent(/Anna.*1,000,000.*540,000.*54%.*2/)
  expect(within(rows[1]).getByRole('meter')).toHaveAttribute('value', '100')  // over the plan: a full bar
  expect(rows[1]).toHaveTextContent('108%')
  expect(seen.map((s) => s.path)).toEqual(['/api/v1/kpi/plans?period=2027-04'])
})

it('asks for a quarter, and nothing for a period that is neither a month nor a quarter', async () => {
  const { seen } = fakeGateway({ 'GET /api/v1/kpi/plans': () => ({ body: { managers: [], teams: [] } }) })
  renderScreen(<PlanPanel period={{ from: '2027-04-01', to: '2027-06-30' }} />)
  expect(await screen.findByText('No plans for this period')).toBeInTheDocument()
  expect(seen.map((s) => s.path)).toEqual(['/api/v1/kpi/plans?period=2027-Q2'])
  expect(planPeriod({ from: '2027-04-01', to: '2027-04-29' })).toBeNull()
  expect(planPeriod({ from: '2027-02-01', to: '2027-04-30' })).toBeNull()  // three months, not a quarter
  expect(planPeriod({ from: '2024-02-01', to: '2024-02-29' })).toBe('2024-02')
  expect(planPeriod({ from: '2027-10-01', to: '2027-12-31' })).toBe('2027-Q4')
})

it('says so for another period without asking', () => {
  const { seen } = fakeGateway({})
  renderScreen(<PlanPanel period={{ from: '2027-04-03', to: '2027-04-30' }} />)
  expect(screen.getByText('Plans are per month or quarter: pick a month or a quarter')).toBeInTheDocument()
  expect(seen).toEqual([])
})
