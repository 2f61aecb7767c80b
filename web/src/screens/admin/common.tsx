// What the settings sections share: a list read from the API under one cache key per path, and its refresh.
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { api, query } from '../../api/http'
import type { Page } from '../../api/types'

export function useAdminList<T, P extends Page<T> = Page<T>>(path: string,
  params: Record<string, string | number | boolean | undefined> = {}) {
  return useQuery({ queryKey: ['admin', path, params],
    queryFn: () => api.get<P>(path + query({ limit: 200, ...params })) })
}

/** Refreshes the section's lists (and what other screens read from the same path, e.g. the board's pipelines). */
export function useRefresh(path: string, ...others: string[][]) {
  const queryClient = useQueryClient()
  return () => {
    void queryClient.invalidateQueries({ queryKey: ['admin', path] })
    for (const queryKey of others) void queryClient.invalidateQueries({ queryKey })
  }
}
