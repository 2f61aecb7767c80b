import { afterEach, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor } from '@testing-library/react'
import { clearEtagCache } from '../api/http'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'
import { MyDay } from './MyDay'

afterEach(() => { vi.unstubAllGlobals(); clearEtagCache() })

const part = <T,>(items: T[], partial = false) => ({ items, total: items.length, partial })
const activity = { id: 'a1', type: 'call', subject: 'Call Acme back', status: 'planned', due_at: '2026-12-01T09:00:00Z',
  overdue: true, client_id: 'c1', deal_id: null, outcome: null, completed_at: null }

it('lists the day and completes an activity with its outcome in one step', async () => {
  let done = false
  const { seen } = fakeGateway({
    'GET /api/v1/my-day': () => ({ body: { date: '2026-12-02', activities: part(done ? [] : [activity]),
      stalled_deals: part([]), past_due_deals: { items: [], total: 0, partial: true, error: 'deals unavailable' },
      new_clients: part([{ id: 'c9', name: 'Fresh Client', created_at: '2026-12-01T00:00:00Z' }]) } }),
    'POST /api/v1/activities/a1/complete': () => { done = true; return { body: { ...activity, status: 'done' } } },
  })
  renderScreen(<MyDay />)
  expect(await screen.findByText(/Call Acme back/)).toBeInTheDocument()
  expect(screen.getByText('overdue')).toBeInTheDocument()
  expect(screen.getByText('Fresh Client')).toBeInTheDocument()
  expect(screen.getByText(/unavailable: deals unavailable/)).toBeInTheDocument()
  fireEvent.change(screen.getByLabelText('Outcome'), { target: { value: 'Agreed a demo' } })
  fireEvent.click(screen.getByRole('button', { name: 'Complete' }))
  await waitFor(() => expect(screen.queryByText(/Call Acme back/)).not.toBeInTheDocument())
  expect(seen.find((s) => s.method === 'POST')?.body).toEqual({ outcome: 'Agreed a demo' })
})

it('shows only the activities to a role the gateway gives no deals', async () => {
  fakeGateway({ 'GET /api/v1/my-day': () => ({ body: { date: '2026-12-02', activities: part([]) } }) })
  renderScreen(<MyDay />)
  expect(await screen.findByText('Nothing here')).toBeInTheDocument()
  expect(screen.queryByText('Stalled and past-due deals')).not.toBeInTheDocument()
})
