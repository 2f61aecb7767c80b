import { afterEach, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor } from '@testing-library/react'
import { api, query } from '../api/http'
import type { ChangeEntry, Page } from '../api/types'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'
import { ChangeHistory } from './ChangeHistory'

afterEach(() => vi.unstubAllGlobals())

const ME = '11111111-2222-3333-4444-555555555555'
const HEAD = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'

function entry(overrides: Partial<ChangeEntry>): ChangeEntry {
  return { record_type: 'deal', record_id: 'd1', action: 'updated', changes: [], actor_id: ME, request_id: null,
    at: '2026-03-02T10:00:00Z', ...overrides }
}

function page(items: ChangeEntry[], next: string | null): Page<ChangeEntry> {
  return { items, next_cursor: next, total: 3, total_is_estimate: false }
}

// The list item whose whole text (across its spans) contains `text`.
const line = (text: string) => screen.findByText((_, element) => element?.tagName === 'LI' && !!element.textContent?.includes(text))

const load = (cursor?: string) =>
  api.get<{ changes: Page<ChangeEntry> }>(`/deals/d1/history${query({ changes: 'true', limit: 2, cursor })}`).then((a) => a.changes)

it('lists who changed which field from what to what, and follows the cursor for more', async () => {
  const { seen } = fakeGateway({ 'GET /api/v1/deals/d1/history': ({ path }) => ({ body: { deal_id: 'd1', items: [],
    changes: path.includes('cursor=c2')
      ? page([entry({ action: 'created', actor_id: null, changes: [{ field: 'title', old: null, new: 'Alloy supply' }] })], null)
      : page([
        entry({ changes: [{ field: 'amount', old: '150000.00', new: '175000.50' }] }),
        entry({ actor_id: HEAD, changes: [{ field: 'stage', old: 'Qualification', new: 'Proposal' },
          { field: 'lost_comment', old: 'Later', new: null }] }),
      ], 'c2') } }) })
  renderScreen(<ChangeHistory queryKey={['deal', 'd1', 'changes']} load={load} viewerId={ME} />)

  expect((await line('Amount: 150000.00 → 175000.50')).textContent).toContain(' · you · ')
  const move = await line('Stage: Qualification → Proposal')
  expect(move.textContent).toContain(' · aaaaaaaa · ')
  expect(move.textContent).toContain('; Comment: Later → —')
  expect(seen[0].path).toBe('/api/v1/deals/d1/history?changes=true&limit=2')

  fireEvent.click(screen.getByRole('button', { name: 'Load more' }))
  expect(await line('system · created: Title: Alloy supply')).toBeInTheDocument()
  expect(seen[1].path).toBe('/api/v1/deals/d1/history?changes=true&limit=2&cursor=c2')
  await waitFor(() => expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument())
})

it('says so when there is no change yet, and names a contact of a client card', async () => {
  fakeGateway({ 'GET /api/v1/clients/c1/history': () => ({ body: page([
    entry({ record_type: 'contact', action: 'deleted', changes: [{ field: 'full_name', old: 'Anna', new: null },
      { field: 'is_primary', old: true, new: null }] })], null) }),
  'GET /api/v1/clients/c2/history': () => ({ body: page([], null) }) })
  renderScreen(<>
    <ChangeHistory queryKey={['client', 'c1', 'changes']} load={() => api.get('/clients/c1/history')} />
    <ChangeHistory queryKey={['client', 'c2', 'changes']} load={() => api.get('/clients/c2/history')} />
  </>)
  expect(await line('Contact · removed: Name: Anna; Primary contact: yes')).toBeInTheDocument()
  expect(await screen.findByText('Nothing here')).toBeInTheDocument()
})
