import { api, query } from './http'
import type { HandOff, HandOffState, Page, Role } from './types'

export const handOffsApi = {
  list: (role: Role | undefined, state: HandOffState, cursor?: string) =>
    api.get<Page<HandOff>>(`/hand-offs${query({ role, state, cursor, limit: 50 })}`),
  take: (id: string) => api.post<HandOff>(`/hand-offs/${id}/take`),
  complete: (id: string, comment: string) =>
    api.post<HandOff>(`/hand-offs/${id}/complete`, comment.trim() ? { comment: comment.trim() } : {}),
}
