import { afterEach, describe, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor } from '@testing-library/react'
import { clearEtagCache } from '../api/http'
import type { Deal } from '../api/types'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'
import { dealChanges, DealEdit } from './DealEdit'

const deal = { id: 'd1', title: 'Big order', amount: { amount: '1000.00', currency: 'RUB' }, expected_close_on: '2026-12-31',
  campaign_id: null, version: 4 } as unknown as Deal
const values = { title: 'Big order', amount: '1000.00', currency: 'RUB', expected_close_on: '2026-12-31', campaign_id: '' }

afterEach(() => { vi.unstubAllGlobals(); clearEtagCache() })

describe('the changes sent for a deal', () => {
  it('are only the fields that changed, the amount with its currency, an emptied date as null', () => {
    expect(dealChanges(deal, values)).toEqual({})
    expect(dealChanges(deal, { ...values, amount: '1200', expected_close_on: '' }))
      .toEqual({ amount: { amount: '1200', currency: 'RUB' }, expected_close_on: null })
    expect(dealChanges(deal, { ...values, currency: 'usd', campaign_id: 'k1' }))
      .toEqual({ amount: { amount: '1000.00', currency: 'USD' }, campaign_id: 'k1' })
  })
})

describe('the deal form', () => {
  const campaigns = () => ({ body: { items: [{ id: 'k1', name: 'Spring fair' }], next_cursor: null } })

  it('sends the version as If-Match and hands back the saved deal', async () => {
    const { seen } = fakeGateway({ 'GET /api/v1/campaigns': campaigns,
      'PATCH /api/v1/deals/d1': ({ body }) => ({ body: { ...deal, ...(body as object), version: 5 } }) })
    const onSaved = vi.fn()
    renderScreen(<DealEdit deal={deal} onSaved={onSaved} onStale={vi.fn()} />)
    fireEvent.change(screen.getByLabelText('Title'), { target: { value: 'Bigger order' } })
    fireEvent.change(await screen.findByLabelText('Campaign'), { target: { value: 'k1' } })
    fireEvent.click(screen.getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(onSaved).toHaveBeenCalled())
    const patch = seen.find((s) => s.method === 'PATCH')!
    expect(patch.headers['If-Match']).toBe('"4"')
    expect(patch.body).toEqual({ title: 'Bigger order', campaign_id: 'k1' })
    expect(onSaved.mock.calls[0][0].version).toBe(5)
  })

  it('reloads the deal and says so when it changed meanwhile (412)', async () => {
    fakeGateway({ 'GET /api/v1/campaigns': campaigns,
      'PATCH /api/v1/deals/d1': () => ({ status: 412, body: { message: 'the deal changed meanwhile' } }) })
    const onStale = vi.fn(async () => undefined)
    const onSaved = vi.fn()
    renderScreen(<DealEdit deal={deal} onSaved={onSaved} onStale={onStale} />)
    fireEvent.change(screen.getByLabelText('Title'), { target: { value: 'Mine' } })
    fireEvent.click(screen.getByRole('button', { name: 'Save' }))
    expect(await screen.findByText(/Someone changed this deal meanwhile/)).toBeInTheDocument()
    expect(onStale).toHaveBeenCalledOnce()
    expect(onSaved).not.toHaveBeenCalled()
  })

  it('shows a validation error at its field', async () => {
    fakeGateway({ 'GET /api/v1/campaigns': () => ({ status: 403, body: { message: 'no' } }),
      'PATCH /api/v1/deals/d1': () => ({ status: 422, body: { message: 'invalid', errors: { json: { title: ['Too long.'] } } } }) })
    renderScreen(<DealEdit deal={deal} onSaved={vi.fn()} onStale={vi.fn()} />)
    fireEvent.change(screen.getByLabelText('Title'), { target: { value: 'x'.repeat(300) } })
    fireEvent.click(screen.getByRole('button', { name: 'Save' }))
    expect(await screen.findByText('Too long.')).toBeInTheDocument()
    expect(screen.getByLabelText('Title')).toHaveAttribute('aria-invalid', 'true')
    expect(screen.queryByLabelText('Campaign')).not.toBeInTheDocument()
  })
})
