// Live updates: while the notifications stream is open, an event refreshes the board, My day and the inbox and
// the screens poll only as a safety net (not every change by someone else is a notification); while it is down
// they poll quickly with ETags, as before.
import { useEffect, useSyncExternalStore } from 'react'
import { useQueryClient, type QueryClient } from '@tanstack/react-query'
import { liveState, openNotificationStream } from './api/stream'

export const LIVE_QUERY_KEYS = [['board'], ['board-deals'], ['my-day'], ['notifications']] as const
const SAFETY_NET_MS = 30_000

export function refreshLiveQueries(queryClient: QueryClient) {
  for (const queryKey of LIVE_QUERY_KEYS) void queryClient.invalidateQueries({ queryKey: [...queryKey] })
}

/** Opens the stream for as long as someone is signed in. */
export function useLiveUpdates(signedIn: boolean) {
  const queryClient = useQueryClient()
  useEffect(() => {
    if (!signedIn) return
    return openNotificationStream({
      onEvent: (event) => { if (event.event === 'notification') refreshLiveQueries(queryClient) },
      // after a break: what changed meanwhile without a notification is caught up at once
      onOpen: (again) => { if (again) refreshLiveQueries(queryClient) },
    })
  }, [signedIn, queryClient])
}

/** Whether the stream is open now. */
export function useLive(): boolean {
  return useSyncExternalStore(liveState.subscribe, liveState.get)
}

/** The polling interval for a live screen: `fallbackMs` while the stream is down. */
export function usePollInterval(fallbackMs: number): number {
  return useLive() ? SAFETY_NET_MS : fallbackMs
}
