import { afterEach, describe, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { clearEtagCache } from '../api/http'
import type { Role } from '../api/types'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'
import { codeFromName } from './admin/Entries'
import { reordered, stagesFromNames } from './admin/Pipelines'

const who = vi.hoisted(() => ({ role: 'admin' as Role }))
vi.mock('../auth', () => ({ useAuth: () => ({ me: { id: 'u0', role: who.role, full_name: 'Root' } }) }))
const { default: Admin } = await import('./Admin')

const page = (items: unknown[]) => ({ body: { items, next_cursor: null, total: items.length } })
const stage = (id: string, name: string, position: number) =>
  ({ id, name, position, probability: 10 * (position + 1), sla_days: 5, responsible_role: null, is_active: true })
const PIPELINE = { id: 'p1', name: 'Sales', is_default: true, stages: [stage('s1', 'Lead', 0), stage('s2', 'Offer', 1)] }
const ANNA = { id: 'u1', email: 'anna@x.test', full_name: 'Anna', role: 'manager', team_id: 't1', is_active: true }

function gateway(extra: Parameters<typeof fakeGateway>[0] = {}) {
  return fakeGateway({
    'GET /api/v1/users': () => page([ANNA]), 'GET /api/v1/teams': () => page([{ id: 't1', name: 'North' }]),
    'GET /api/v1/pipelines': () => page([PIPELINE]), 'GET /api/v1/lost-reasons': () => page([{ id: 'r1', name: 'Price', is_active: true }]),
    'GET /api/v1/activity-types': () => page([]), 'GET /api/v1/channels': () => page([{ id: 'c1', code: 'web', name: 'Web', is_active: true }]),
    'GET /api/v1/fx-rates': () => page([]), 'GET /api/v1/sales-plans': () => ({ body: { ...page([]).body, currency: 'RUB' } }),
    'GET /api/v1/commission-schemes': () => page([]), ...extra,
  })
}

afterEach(() => { vi.unstubAllGlobals(); clearEtagCache(); who.role = 'admin' })

describe('the settings logic', () => {
  it('makes codes from names, stages from a list of names, and a new stage order', () => {
    expect(codeFromName(' Trade show! 2026 ')).toBe('trade_show_2026')
    expect(stagesFromNames('Lead, Offer,\nContract,')).toEqual([
      { name: 'Lead', probability: 30 }, { name: 'Offer', probability: 60 }, { name: 'Contract', probability: 90 }])
    expect(reordered(PIPELINE.stages, 1, -1)).toEqual(['s2', 's1'])
  })
})

describe('the admin screen', () => {
  it('creates a user, showing the refused fields at the fields', async () => {
    let calls = 0
    const { seen } = gateway({ 'POST /api/v1/users': () => (++calls === 1
      ? { status: 422, body: { message: 'invalid', errors: { json: { password: ['Shorter than minimum length 10.'] } } } }
      : { status: 201, body: ANNA }) })
    renderScreen(<Admin />)
    const form = await screen.findByRole('form', { name: 'New user' })
    fireEvent.change(within(form).getByLabelText('E-mail'), { target: { value: 'ivan@x.test' } })
    fireEvent.change(within(form).getByLabelText('Name'), { target: { value: 'Ivan' } })
    fireEvent.change(within(form).getByLabelText('Role'), { target: { value: 'head_of_sales' } })
    await within(form).findByRole('option', { name: 'North' })
    fireEvent.change(within(form).getByLabelText('Team'), { target: { value: 't1' } })
    fireEvent.change(within(form).getByLabelText(/First password/), { target: { value: 'short' } })
    fireEvent.click(within(form).getByRole('button', { name: 'Add' }))
    expect(await within(form).findByText('Shorter than minimum length 10.')).toBeInTheDocument()
    expect(within(form).getByLabelText(/First password/)).toHaveAttribute('aria-invalid', 'true')
    fireEvent.change(within(form).getByLabelText(/First password/), { target: { value: 'long enough 123' } })
    fireEvent.click(within(form).getByRole('button', { name: 'Add' }))
    await waitFor(() => expect(within(form).getByLabelText('E-mail')).toHaveValue(''))
    expect(seen.filter((s) => s.method === 'POST')[1].body).toEqual(
      { email: 'ivan@x.test', full_name: 'Ivan', role: 'head_of_sales', team_id: 't1', password: 'long enough 123' })
  })

  it('changes a user role, deactivates them, and filters the list', async () => {
    const { seen } = gateway({ 'PATCH /api/v1/users/u1': () => ({ body: ANNA }), 'POST /api/v1/users/u1/deactivate': () => ({ status: 204 }) })
    renderScreen(<Admin />)
    fireEvent.change(await screen.findByLabelText('Anna: Role'), { target: { value: 'head_of_sales' } })
    fireEvent.click(screen.getByRole('button', { name: 'Anna: Deactivate' }))
    await waitFor(() => expect(seen.some((s) => s.path === '/api/v1/users/u1/deactivate')).toBe(true))
    expect(seen.find((s) => s.method === 'PATCH')!.body).toEqual({ role: 'head_of_sales' })
    fireEvent.change(screen.getByRole('combobox', { name: 'Status' }), { target: { value: 'false' } })
    await waitFor(() => expect(seen.some((s) => s.path.startsWith('/api/v1/users?') && s.path.includes('is_active=false'))).toBe(true))
  })

  it('edits a stage: its responsible role from the roles, its probability, its removal', async () => {
    vi.stubGlobal('confirm', vi.fn(() => true))
    const { seen } = gateway({ 'PATCH /api/v1/pipelines/p1/stages/*': () => ({ body: {} }),
      'DELETE /api/v1/pipelines/p1/stages/*': () => ({ status: 409, body: { message: 'deals are in this stage' } }) })
    renderScreen(<Admin />)
    const role = await screen.findByLabelText('Offer: Responsible role')
    expect(within(role).getAllByRole('option').map((o) => o.textContent)).toContain('Head of sales')
    fireEvent.change(role, { target: { value: 'service' } })
    const probability = screen.getByLabelText('Lead: Probability')
    fireEvent.change(probability, { target: { value: '15' } })
    fireEvent.blur(probability)
    await waitFor(() => expect(seen.filter((s) => s.method === 'PATCH')).toHaveLength(2))
    expect(seen.filter((s) => s.method === 'PATCH').map((s) => [s.path, s.body])).toEqual([
      ['/api/v1/pipelines/p1/stages/s2', { responsible_role: 'service' }], ['/api/v1/pipelines/p1/stages/s1', { probability: 15 }]])
    fireEvent.click(screen.getByRole('button', { name: 'Lead: Remove' }))
    expect(await screen.findByText('deals are in this stage')).toBeInTheDocument()
  })

  it('renames and deactivates a channel, and adds one with a code made from its name', async () => {
    const { seen } = gateway({ 'PATCH /api/v1/channels/c1': () => ({ body: {} }), 'POST /api/v1/channels': () => ({ status: 201, body: {} }) })
    renderScreen(<Admin />)
    fireEvent.click(await screen.findByRole('button', { name: 'Deactivate: Web' }))
    fireEvent.click(screen.getByRole('button', { name: 'Rename: Web' }))
    fireEvent.change(screen.getByDisplayValue('Web'), { target: { value: 'Website' } })
    fireEvent.click(screen.getByRole('button', { name: 'Save' }))
    const form = screen.getByRole('form', { name: 'Channels: Add' })
    fireEvent.change(within(form).getByLabelText('Name'), { target: { value: 'Trade show' } })
    fireEvent.click(within(form).getByRole('button', { name: 'Add' }))
    await waitFor(() => expect(seen.filter((s) => s.path.startsWith('/api/v1/channels') && s.method !== 'GET')).toHaveLength(3))
    expect(seen.filter((s) => s.path.startsWith('/api/v1/channels') && s.method !== 'GET').map((s) => s.body)).toEqual([
      { is_active: false }, { name: 'Website' }, { name: 'Trade show', code: 'trade_show' }])
  })

  it('records an exchange rate, upper-casing the currency', async () => {
    const { seen } = gateway({ 'POST /api/v1/fx-rates': () => ({ status: 201, body: {} }) })
    renderScreen(<Admin />)
    const form = await screen.findByRole('form', { name: 'Record a rate' })
    fireEvent.change(within(form).getByLabelText('Currency'), { target: { value: 'usd' } })
    fireEvent.change(within(form).getByLabelText('Rate to the base currency'), { target: { value: '92,5' } })
    fireEvent.change(within(form).getByLabelText('Valid from'), { target: { value: '2026-12-01' } })
    fireEvent.click(within(form).getByRole('button', { name: 'Record a rate' }))
    await waitFor(() => expect(seen.find((s) => s.method === 'POST')?.body).toEqual(
      { currency: 'USD', rate_to_base: '92.5', valid_from: '2026-12-01' }))
  })

  it('gives the head of sales pipelines and lost reasons to edit, users and teams to read only', async () => {
    who.role = 'head_of_sales'
    gateway()
    renderScreen(<Admin />)
    expect(await screen.findByLabelText('Lead: Responsible role')).toBeInTheDocument()
    expect(await screen.findByRole('cell', { name: 'Sales manager' })).toBeInTheDocument()
    expect(screen.queryByRole('form', { name: 'New user' })).not.toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Anna: Deactivate' })).not.toBeInTheDocument()
    expect(screen.getByRole('form', { name: 'Lost reasons: Add' })).toBeInTheDocument()
    expect(screen.queryByRole('heading', { name: 'Exchange rates' })).not.toBeInTheDocument()
    expect(screen.queryByRole('heading', { name: 'Channels' })).not.toBeInTheDocument()
  })
})
