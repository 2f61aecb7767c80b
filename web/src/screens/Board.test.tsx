import { afterEach, describe, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { clearEtagCache } from '../api/http'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'

vi.mock('../auth', () => ({ useAuth: () => ({ me: { id: 'u1', role: 'manager', full_name: 'Anna' } }) }))
const { BoardScreen } = await import('./Board')

const stage = (id: string, name: string, position: number) =>
  ({ id, name, position, probability: 10, sla_days: 5, responsible_role: null, is_active: true })
const STAGES = [stage('s1', 'Lead', 0), stage('s2', 'Proposal', 1)]
const deal = { id: 'd1', title: 'Big order', amount: { amount: '1000.00', currency: 'RUB' }, client_id: 'c1',
  client_name: 'Acme', owner_id: 'u1', pipeline_id: 'p1', stage_id: 's1', stage_name: 'Lead', stage_probability: 10,
  stage_entered_at: new Date(Date.now() - 3 * 86_400_000).toISOString(), status: 'open', stalled: true, past_due: false,
  expected_close_on: null, lost_reason_name: null, lost_comment: null, closed_at: null, version: 4,
  created_at: '', updated_at: '' }

function gateway(moveAnswer: { status: number; body: unknown }) {
  return fakeGateway({
    'GET /api/v1/pipelines': () => ({ body: { items: [{ id: 'p1', name: 'Sales', is_default: true, stages: STAGES }], next_cursor: null } }),
    'GET /api/v1/pipelines/p1/board': () => ({ body: { pipeline_id: 'p1', name: 'Sales', columns: STAGES.map((s, i) => (
      { stage: s, count: i === 0 ? 1 : 0, amounts: i === 0 ? [deal.amount] : [], stalled: i === 0 ? 1 : 0 })) } }),
    'GET /api/v1/deals': ({ path }) => ({ body: { items: path.includes(`stage_id=${deal.stage_id}`) ? [deal] : [], next_cursor: null } }),
    'POST /api/v1/deals/d1/move': () => moveAnswer,
  })
}

afterEach(() => { vi.unstubAllGlobals(); clearEtagCache() })

describe('the pipeline board', () => {
  it('shows columns with counts and sums, and cards with client, amount, days in stage and the stalled mark', async () => {
    gateway({ status: 200, body: deal })
    renderScreen(<BoardScreen />)
    const card = await screen.findByText('Big order')
    const item = card.closest('li')!
    expect(within(item).getByText('Acme')).toBeInTheDocument()
    expect(within(item).getByText(/3 d in stage/)).toBeInTheDocument()
    expect(item).toHaveClass('stalled')
    expect(screen.getByRole('region', { name: 'Lead' })).toHaveTextContent('1 deal ·')
  })

  it('moves a card at once, sends the version as If-Match, and keeps the server answer', async () => {
    const { seen } = gateway({ status: 200, body: { ...deal, stage_id: 's2', stage_name: 'Proposal', version: 5 } })
    renderScreen(<BoardScreen />)
    await screen.findByText('Big order')
    fireEvent.click(screen.getByRole('button', { name: 'Move to…' }))
    fireEvent.change(screen.getByLabelText('Move to'), { target: { value: 's2' } })
    await waitFor(() => expect(within(screen.getByRole('region', { name: 'Proposal' })).getByText('Big order')).toBeInTheDocument())
    const move = seen.find((s) => s.path === '/api/v1/deals/d1/move')!
    expect(move.headers['If-Match']).toBe('"4"')
    expect(move.body).toEqual({ stage_id: 's2' })
    expect(await screen.findByText('Moved to Proposal')).toBeInTheDocument()
  })

  it('offers no export to a manager (the head of sales and admins export)', async () => {
    gateway({ status: 200, body: deal })
    renderScreen(<BoardScreen />)
    await screen.findByText('Big order')
    expect(screen.queryByRole('button', { name: 'Export CSV' })).toBeNull()
  })

  it('puts the card back with a message when the deal changed meanwhile (412)', async () => {
    gateway({ status: 412, body: { message: 'the deal changed meanwhile' } })
    renderScreen(<BoardScreen />)
    await screen.findByText('Big order')
    fireEvent.click(screen.getByRole('button', { name: 'Move to…' }))
    fireEvent.change(screen.getByLabelText('Move to'), { target: { value: 's2' } })
    expect(await screen.findByText(/the move was undone \(the deal changed meanwhile\)/)).toBeInTheDocument()
    expect(within(screen.getByRole('region', { name: 'Lead' })).getByText('Big order')).toBeInTheDocument()
  })
})
