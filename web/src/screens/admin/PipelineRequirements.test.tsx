import { afterEach, expect, it, vi } from 'vitest'
import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { clearEtagCache } from '../../api/http'
import { fakeGateway } from '../../test/fakeServer'
import { renderScreen } from '../../test/render'
import { activityCodes, Pipelines, toggledFields } from './Pipelines'

afterEach(() => { vi.unstubAllGlobals(); clearEtagCache() })

const stage = { id: 's1', name: 'Proposal', position: 0, probability: 50, sla_days: 10, responsible_role: null,
  is_active: true, required_fields: ['amount' as const], required_activities: ['demo'] }
const pipelines = { items: [{ id: 'p1', name: 'Sales', is_default: true, stages: [stage] }], next_cursor: null, total: 1 }

it('reads activity codes once each and keeps the required fields in the list order', () => {
  expect(activityCodes(' demo, site_visit demo,, ')).toEqual(['demo', 'site_visit'])
  expect(toggledFields(['campaign_id'], 'amount', true)).toEqual(['amount', 'campaign_id'])
  expect(toggledFields(['amount', 'campaign_id'], 'amount', false)).toEqual(['campaign_id'])
})

it('edits what a deal must have to enter a stage', async () => {
  const { seen } = fakeGateway({ 'GET /api/v1/pipelines': () => ({ body: pipelines }),
    'PATCH /api/v1/pipelines/p1/stages/s1': () => ({ body: pipelines.items[0] }) })
  renderScreen(<Pipelines write />)
  const row = (await screen.findByDisplayValue('Proposal')).closest('tr')!
  expect(within(row).getByLabelText('Amount above 0')).toBeChecked()
  fireEvent.click(within(row).getByLabelText('Expected close'))
  const activities = within(row).getByLabelText('Proposal: Required activities (type codes, comma-separated)')
  expect(activities).toHaveValue('demo')
  fireEvent.change(activities, { target: { value: 'demo, site_visit' } })
  fireEvent.blur(activities)
  await waitFor(() => expect(seen.filter((s) => s.method === 'PATCH').map((s) => s.body)).toEqual([
    { required_fields: ['amount', 'expected_close_on'] }, { required_activities: ['demo', 'site_visit'] }]))
})

it('shows the requirements to a reader', async () => {
  fakeGateway({ 'GET /api/v1/pipelines': () => ({ body: pipelines }) })
  renderScreen(<Pipelines write={false} />)
  expect(await screen.findByText('Amount above 0, demo')).toBeInTheDocument()
})
