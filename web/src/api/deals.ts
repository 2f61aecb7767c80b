import { api, allPages, query, request } from './http'
import type { Board, ChangeEntry, Deal, LostReason, Page, Pipeline } from './types'

export const dealsApi = {
  pipelines: () => api.get<Page<Pipeline>>('/pipelines?limit=200'),
  board: (pipelineId: string, ownerId?: string) =>
    api.get<Board>(`/pipelines/${pipelineId}/board${query({ owner_id: ownerId })}`),
  // One request per stage, in parallel: a column's deals are one page or two, and the board draws sooner than
  // after following one cursor through every page.
  openDeals: async (pipelineId: string, stageIds: string[], ownerId?: string, q?: string) =>
    (await Promise.all(stageIds.map((stageId) => allPages<Deal>('/deals', { pipeline_id: pipelineId, stage_id: stageId,
      status: 'open', owner_id: ownerId, q: q || undefined, sort: '-stage_entered_at' })))).flat(),
  deal: (id: string) => api.get<Deal>(`/deals/${id}`),
  history: (id: string) => api.get<{ items: { stage_id: string; stage_name: string; entered_at: string; left_at: string | null; days: number }[] }>(`/deals/${id}/history`),
  changes: (id: string, limit = 20, cursor?: string) =>
    api.get<{ changes: Page<ChangeEntry> }>(`/deals/${id}/history${query({ changes: 'true', limit, cursor })}`).then((a) => a.changes),
  lostReasons: () => api.get<Page<LostReason>>('/lost-reasons?is_active=true&limit=200'),
  // The version the card was drawn from travels as If-Match: a deal changed meanwhile is a 412, not a lost update.
  move: (deal: Deal, stageId: string) =>
    request<Deal>('POST', `/deals/${deal.id}/move`, { stage_id: stageId }, { 'If-Match': `"${deal.version}"` }).then((a) => a.body),
  win: (deal: Deal) =>
    request<Deal>('POST', `/deals/${deal.id}/win`, {}, { 'If-Match': `"${deal.version}"` }).then((a) => a.body),
  lose: (deal: Deal, reasonId: string, comment: string) =>
    request<Deal>('POST', `/deals/${deal.id}/lose`, { reason_id: reasonId, comment },
      { 'If-Match': `"${deal.version}"` }).then((a) => a.body),
  reopen: (deal: Deal) =>
    request<Deal>('POST', `/deals/${deal.id}/reopen`, {}, { 'If-Match': `"${deal.version}"` }).then((a) => a.body),
}
