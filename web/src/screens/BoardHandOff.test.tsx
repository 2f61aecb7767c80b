import { afterEach, expect, it, vi } from 'vitest'
import { screen, within } from '@testing-library/react'
import { Navigate, Route, Routes } from 'react-router-dom'
import { clearEtagCache } from '../api/http'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'

vi.mock('../auth', () => ({ useAuth: () => ({ me: { id: 'u1', role: 'manager', full_name: 'Anna' } }) }))
const { BoardScreen } = await import('./Board')
const { DealCard } = await import('./DealCard')

afterEach(() => { vi.unstubAllGlobals(); clearEtagCache() })

const contract = { id: 's5', name: 'Contract', position: 0, probability: 90, sla_days: 7, responsible_role: 'accountant',
  is_active: true }
const deal = { id: 'd1', title: 'Alloy supply', amount: { amount: '1000.00', currency: 'RUB' }, client_id: 'c1',
  client_name: 'Acme', owner_id: 'u1', pipeline_id: 'p1', stage_id: 's5', stage_name: 'Contract', stage_probability: 90,
  stage_entered_at: new Date().toISOString(), status: 'open', stalled: false, past_due: false, expected_close_on: null,
  lost_reason_name: null, lost_comment: null, closed_at: null, version: 2, created_at: '', updated_at: '',
  hand_off: { id: 'h1', state: 'taken', role: 'accountant', taken_by: 'acc1', due_at: '2026-12-10T09:15:00Z', overdue: true } }

function gateway() {
  fakeGateway({
    'GET /api/v1/pipelines': () => ({ body: { items: [{ id: 'p1', name: 'Sales', is_default: true, stages: [contract] }] } }),
    'GET /api/v1/pipelines/p1/board': () => ({ body: { pipeline_id: 'p1', name: 'Sales', columns: [
      { stage: contract, count: 1, amounts: [deal.amount], stalled: 0, hand_offs: 1 }] } }),
    'GET /api/v1/deals': () => ({ body: { items: [deal], next_cursor: null } }),
    'GET /api/v1/deals/d1': () => ({ body: deal }),
    'GET /api/v1/deals/d1/history': () => ({ body: { items: [] } }),
    'GET /api/v1/activities': () => ({ body: { items: [], next_cursor: null } }),
  })
}

it('marks the board card and the column of a deal waiting on a hand-off', async () => {
  gateway()
  renderScreen(<BoardScreen />)
  const card = (await screen.findByText('Alloy supply')).closest('li')!
  expect(within(card).getByText('Hand-off · Accountant: taken · overdue')).toHaveClass('hand-off', 'overdue')
  expect(screen.getByRole('region', { name: 'Contract' })).toHaveTextContent('1 waiting on a hand-off')
})

it('shows the hand-off on the deal card', async () => {
  gateway()
  renderScreen(<Routes><Route path="/deals/:dealId" element={<DealCard />} />
    <Route path="*" element={<Navigate to="/deals/d1" replace />} /></Routes>)
  expect(await screen.findByText('Hand-off · Accountant: taken · overdue')).toBeInTheDocument()
})
