import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor } from '@testing-library/react'
import { fakeGateway } from '../test/fakeServer'
import { renderScreen } from '../test/render'
import { ExportButtons } from './ExportButtons'

const PARAMS = { pipeline_id: 'p1', owner_id: undefined, q: 'pump', status: 'open' }

describe('the export buttons', () => {
  const created: Blob[] = []
  beforeEach(() => {
    created.length = 0
    // jsdom has no object URLs; the file handed to the browser is what the test reads.
    vi.stubGlobal('URL', Object.assign(URL, {
      createObjectURL: vi.fn((blob: Blob) => { created.push(blob); return 'blob:export' }),
      revokeObjectURL: vi.fn(),
    }))
  })
  afterEach(() => { vi.unstubAllGlobals() })

  it('fetch the list with its filters and the format, and hand the file to the browser under its name', async () => {
    const { seen } = fakeGateway({
      'GET /api/v1/deals/export': () => ({ body: 'id,title', headers: {
        'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="deals-20260302-090000.csv"' } }),
    })
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {})
    renderScreen(<ExportButtons role="head_of_sales" path="/deals/export" name="deals" params={PARAMS} />)
    fireEvent.click(screen.getByRole('button', { name: 'Export XLSX' }))
    await waitFor(() => expect(click).toHaveBeenCalled())
    expect(seen[0].path).toBe('/api/v1/deals/export?pipeline_id=p1&q=pump&status=open&format=xlsx')
    expect(created).toHaveLength(1)
    const anchor = click.mock.instances[0] as unknown as HTMLAnchorElement
    expect(anchor.download).toBe('deals-20260302-090000.csv')
    click.mockRestore()
  })

  it('say why an export failed', async () => {
    fakeGateway({ 'GET /api/v1/deals/export': () => ({ status: 403, body: { message: 'not allowed' } }) })
    renderScreen(<ExportButtons role="admin" path="/deals/export" name="deals" params={PARAMS} />)
    fireEvent.click(screen.getByRole('button', { name: 'Export CSV' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('The export failed: not allowed')
    expect(created).toHaveLength(0)
  })

  it('are not there for the roles that may not export', () => {
    for (const role of ['manager', 'marketer', 'accountant', 'service'] as const) {
      const { unmount } = renderScreen(<ExportButtons role={role} path="/deals/export" name="deals" params={PARAMS} />)
      expect(screen.queryByRole('button', { name: 'Export CSV' })).toBeNull()
      unmount()
    }
  })
})
