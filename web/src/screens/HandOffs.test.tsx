import { afterEach, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { clearEtagCache } from '../api/http'
import type { HandOff } from '../api/types'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'

vi.mock('../auth', () => ({ useAuth: () => ({ me: { id: 'acc1', role: 'accountant', full_name: 'Alex' } }) }))
const { HandOffs } = await import('./HandOffs')

afterEach(() => { vi.unstubAllGlobals(); clearEtagCache() })

const handOff: HandOff = { id: 'h1', state: 'open', role: 'accountant', taken_by: null, due_at: '2026-12-10T09:15:00Z',
  overdue: true, deal_id: 'd1', deal_title: 'Alloy supply', client_id: 'c1', client_name: 'Volga Steel Works',
  owner_id: 'u1', stage_id: 's5', stage_name: 'Contract', entered_at: '2026-12-03T09:15:00Z', taken_at: null,
  completed_at: null, comment: null, cancelled_at: null, cancel_reason: null }

it('lists the role\'s queue, takes a hand-off and completes it with a comment', async () => {
  let current = handOff
  const { seen } = fakeGateway({
    'GET /api/v1/hand-offs': ({ path }) => ({ body: { items: path.includes(`state=${current.state}`) ? [current] : [],
      next_cursor: null, total: 1, total_is_estimate: false } }),
    'POST /api/v1/hand-offs/h1/take': () => { current = { ...current, state: 'taken', taken_by: 'acc1' }; return { body: current } },
    'POST /api/v1/hand-offs/h1/complete': () => { current = { ...current, state: 'done' }; return { body: current } },
  })
  renderScreen(<HandOffs />)
  const row = (await screen.findByText('Alloy supply')).closest('li')!
  expect(row).toHaveTextContent('Volga Steel Works · Contract · Accountant · open')
  expect(within(row).getByText(/overdue/)).toBeInTheDocument()
  expect(seen[0].path).toContain('role=accountant')
  expect(seen[0].path).toContain('state=open')
  fireEvent.click(within(row).getByRole('button', { name: 'Take' }))
  await waitFor(() => expect(screen.queryByText('Alloy supply')).not.toBeInTheDocument())

  fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'taken' } })
  const taken = (await screen.findByText('Alloy supply')).closest('li')!
  expect(taken).toHaveTextContent('taken (by you)')
  fireEvent.change(within(taken).getByLabelText('Comment'), { target: { value: 'Invoice 17 issued' } })
  fireEvent.click(within(taken).getByRole('button', { name: 'Complete' }))
  await waitFor(() => expect(seen.find((s) => s.path.endsWith('/complete'))?.body).toEqual({ comment: 'Invoice 17 issued' }))
})

it('shows why a take was refused and offers no take for another role\'s hand-off', async () => {
  fakeGateway({
    'GET /api/v1/hand-offs': () => ({ body: { items: [handOff, { ...handOff, id: 'h2', role: 'service', deal_title: 'Onboarding Acme' }],
      next_cursor: null, total: 2, total_is_estimate: false } }),
    'POST /api/v1/hand-offs/h1/take': () => ({ status: 409, body: { code: 409, status: 'Conflict',
      message: 'the hand-off is taken already by someone else', errors: {} } }),
  })
  renderScreen(<HandOffs />)
  const row = (await screen.findByText('Alloy supply')).closest('li')!
  fireEvent.click(within(row).getByRole('button', { name: 'Take' }))
  expect(await within(row).findByRole('alert')).toHaveTextContent('taken already by someone else')
  const other = screen.getByText('Onboarding Acme').closest('li')!
  expect(within(other).queryByRole('button', { name: 'Take' })).not.toBeInTheDocument()
})
