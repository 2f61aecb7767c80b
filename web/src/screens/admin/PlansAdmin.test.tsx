import { afterEach, describe, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { clearEtagCache } from '../../api/http'
import { monthOf, planTargets, planValues, tiersToSend, withTier, type SalesPlan } from '../../api/plans'
import { fakeGateway } from '../../test/fakeServer'
import { renderScreen } from '../../test/render'
import { CommissionSchemes } from './CommissionSchemes'
import { SalesPlans } from './SalesPlans'

const page = (items: unknown[]) => ({ body: { items, next_cursor: null, total: items.length } })
// the plans list names the company currency, which the targets are set in
const plansPage = (items: unknown[], currency = 'RUB') => ({ body: { ...page(items).body, currency } })
const user = (id: string, full_name: string, role: string, is_active = true) =>
  ({ id, email: `${id}@x.test`, full_name, role, team_id: null, is_active })
const USERS = [user('u1', 'Anna', 'manager'), user('u2', 'Boris', 'manager'), user('u3', 'Maria', 'marketer'),
  user('u4', 'Gone', 'manager', false)]
const ANNAS_PLAN: SalesPlan = { id: 'pl1', period: '2026-03', period_kind: 'month', manager_id: 'u1', team_id: null,
  mode: 'own', version: 3, targets: { revenue_won: { amount: '4000000.00', currency: 'RUB' }, revenue_paid: null,
    deals_won: 4, activities: {} } }
const TIERS = [{ from_pct: '0', to_pct: '80', rate_pct: '3' }, { from_pct: '80', to_pct: '100', rate_pct: '5' },
  { from_pct: '100', to_pct: null, rate_pct: '7' }]
const SCHEME = { id: 'cs1', name: 'Standard', revision: 2, versions: [{ version: 1, valid_from: '2026-03-01',
  base: 'revenue_paid', tiers: TIERS, deal_bonus: null, manager_ids: ['u1'], team_ids: [] }] }
const MARCH = new Date(Date.UTC(2026, 2, 14))

afterEach(() => { vi.unstubAllGlobals(); clearEtagCache() })

describe('the plans logic', () => {
  it('turns typed targets into the service shape and back', () => {
    expect(planValues(ANNAS_PLAN)).toEqual({ revenue_won: '4000000.00', revenue_paid: '', deals_won: '4' })
    expect(planValues(undefined)).toEqual({ revenue_won: '', revenue_paid: '', deals_won: '' })
    expect(planTargets({ revenue_won: '1 500 000,50', revenue_paid: '', deals_won: '0' }, 'EUR')).toEqual({
      revenue_won: { amount: '1500000.50', currency: 'EUR' }, revenue_paid: null, deals_won: 0 })
    expect(monthOf(MARCH)).toBe('2026-03')
  })

  it('sends tiers with an empty end as the open one, and adds a tier by splitting the open one', () => {
    expect(tiersToSend([{ from_pct: '0', to_pct: '80', rate_pct: '2,5' }, { from_pct: '80', to_pct: ' ', rate_pct: '5' }]))
      .toEqual([{ from_pct: '0', to_pct: '80', rate_pct: '2.5' }, { from_pct: '80', to_pct: null, rate_pct: '5' }])
    expect(withTier([{ from_pct: '0', to_pct: '80', rate_pct: '3' }, { from_pct: '80', to_pct: '', rate_pct: '5' }]))
      .toEqual([{ from_pct: '0', to_pct: '80', rate_pct: '3' }, { from_pct: '80', to_pct: '100', rate_pct: '5' },
        { from_pct: '100', to_pct: '', rate_pct: '5' }])
  })
})

describe('the sales plans section', () => {
  it('sets a plan for a manager without one and changes an existing plan with If-Match', async () => {
    const { seen } = fakeGateway({
      'GET /api/v1/users': () => page(USERS),
      'GET /api/v1/sales-plans': (req) => plansPage(req.path.includes('period=2026-03') ? [ANNAS_PLAN] : []),
      'POST /api/v1/sales-plans': () => ({ status: 201, body: { ...ANNAS_PLAN, id: 'pl2', manager_id: 'u2' } }),
      'PATCH /api/v1/sales-plans/pl1': () => ({ body: { ...ANNAS_PLAN, version: 4 } }),
    })
    renderScreen(<SalesPlans write today={MARCH} />)
    expect(await screen.findByLabelText('Anna: Revenue won')).toHaveValue('4000000.00')
    expect(screen.queryByLabelText('Maria: Revenue won')).toBeNull()  // not a manager
    expect(screen.queryByLabelText('Gone: Revenue won')).toBeNull()  // deactivated

    fireEvent.change(screen.getByLabelText('Boris: Revenue won'), { target: { value: '3500000' } })
    fireEvent.change(screen.getByLabelText('Boris: Deals won'), { target: { value: '3' } })
    fireEvent.click(within(screen.getByRole('form', { name: 'Boris: Save the plan' })).getByRole('button', { name: 'Set' }))
    await waitFor(() => expect(seen.some((s) => s.method === 'POST')).toBe(true))
    expect(seen.find((s) => s.method === 'POST')?.body).toEqual({ period: '2026-03', manager_id: 'u2', targets: {
      revenue_won: { amount: '3500000', currency: 'RUB' }, revenue_paid: null, deals_won: 3 } })

    fireEvent.change(screen.getByLabelText('Anna: Deals won'), { target: { value: '6' } })
    fireEvent.click(within(screen.getByRole('form', { name: 'Anna: Save the plan' })).getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(seen.some((s) => s.method === 'PATCH')).toBe(true))
    const patch = seen.find((s) => s.method === 'PATCH')!
    expect(patch.headers['If-Match']).toBe('"3"')
    expect(patch.body).toEqual({ targets: { revenue_won: { amount: '4000000.00', currency: 'RUB' }, revenue_paid: null,
      deals_won: 6 } })
  })

  it('sets the targets in the currency the plans list names (the company currency)', async () => {
    const { seen } = fakeGateway({
      'GET /api/v1/users': () => page(USERS), 'GET /api/v1/sales-plans': () => plansPage([], 'EUR'),
      'POST /api/v1/sales-plans': () => ({ status: 201, body: { ...ANNAS_PLAN, id: 'pl2', manager_id: 'u2' } }),
    })
    renderScreen(<SalesPlans write today={MARCH} />)
    fireEvent.change(await screen.findByLabelText('Boris: Revenue won'), { target: { value: '90000' } })
    fireEvent.click(within(screen.getByRole('form', { name: 'Boris: Save the plan' })).getByRole('button', { name: 'Set' }))
    await waitFor(() => expect(seen.some((s) => s.method === 'POST')).toBe(true))
    expect(seen.find((s) => s.method === 'POST')?.body).toEqual({ period: '2026-03', manager_id: 'u2', targets: {
      revenue_won: { amount: '90000', currency: 'EUR' }, revenue_paid: null, deals_won: null } })
  })

  it('shows why the service refused a plan at its row', async () => {
    fakeGateway({
      'GET /api/v1/users': () => page(USERS), 'GET /api/v1/sales-plans': () => plansPage([]),
      'POST /api/v1/sales-plans': () => ({ status: 409, body: { code: 409, status: 'Conflict',
        message: 'the manager already has plan pq for 2026-Q1, which overlaps 2026-03', errors: { reason: 'plan_overlaps' } } }),
    })
    renderScreen(<SalesPlans write today={MARCH} />)
    fireEvent.change(await screen.findByLabelText('Boris: Deals won'), { target: { value: '3' } })
    const form = screen.getByRole('form', { name: 'Boris: Save the plan' })
    fireEvent.click(within(form).getByRole('button', { name: 'Set' }))
    expect(await within(form).findByRole('alert')).toHaveTextContent('overlaps 2026-03')
  })

  it('lets a reader see the plans without changing them', async () => {
    fakeGateway({ 'GET /api/v1/users': () => page(USERS), 'GET /api/v1/sales-plans': () => plansPage([ANNAS_PLAN]) })
    renderScreen(<SalesPlans write={false} today={MARCH} />)
    expect(await screen.findByLabelText('Anna: Revenue won')).toBeDisabled()
    expect(screen.queryByRole('button', { name: 'Save' })).toBeNull()
  })
})

describe('the commission schemes section', () => {
  it('saves changed tiers as a new version from a month, with If-Match, and shows a refused chain', async () => {
    let calls = 0
    const { seen } = fakeGateway({
      'GET /api/v1/commission-schemes': () => page([SCHEME]),
      'POST /api/v1/commission-schemes/cs1/versions': () => (++calls === 1
        ? { status: 422, body: { code: 422, status: 'Unprocessable Entity', message: 'the request body or parameters are invalid',
          errors: { json: { tiers: { 1: ['a gap: starts at 85 but the previous tier ends at 80'] } } } } }
        : { status: 201, body: { ...SCHEME, revision: 3 } }),
    })
    renderScreen(<CommissionSchemes write month="2026-04" />)
    const form = await screen.findByRole('form', { name: 'Standard: Save as a new version' })
    expect(within(form).getByLabelText('Standard, Tier 3: Rate, %')).toHaveValue('7')
    fireEvent.change(within(form).getByLabelText('Standard, Tier 2: From, % of plan'), { target: { value: '85' } })
    fireEvent.click(within(form).getByRole('button', { name: 'Save as a new version' }))
    expect(await within(form).findByText(/a gap: starts at 85/)).toBeInTheDocument()

    fireEvent.change(within(form).getByLabelText('Standard, Tier 2: From, % of plan'), { target: { value: '80' } })
    fireEvent.change(within(form).getByLabelText('Standard, Tier 3: Rate, %'), { target: { value: '8' } })
    fireEvent.click(within(form).getByRole('button', { name: 'Save as a new version' }))
    await waitFor(() => expect(calls).toBe(2))
    const sent = seen.filter((s) => s.method === 'POST')[1]
    expect(sent.headers['If-Match']).toBe('"2"')
    expect(sent.body).toEqual({ valid_from: '2026-04-01', base: 'revenue_paid', deal_bonus: null,
      tiers: [TIERS[0], TIERS[1], { from_pct: '100', to_pct: null, rate_pct: '8' }] })
  })
})
