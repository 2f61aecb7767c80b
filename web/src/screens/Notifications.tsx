// The in-app inbox: refreshed by the live stream (src/live.ts), polled while the stream is down.
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { api } from '../api/http'
import type { Page } from '../api/types'
import { ErrorNote, Loading } from '../components/ui'
import { useI18n } from '../i18n'
import { usePollInterval } from '../live'

interface Note { id: string; title?: string; subject?: string; body?: string; created_at: string; read_at: string | null }

export function Notifications() {
  const { t, date } = useI18n()
  const queryClient = useQueryClient()
  const inbox = useQuery({ queryKey: ['notifications'], refetchInterval: usePollInterval(10_000),
    queryFn: () => api.get<Page<Note>>('/notifications?limit=50') })
  const readAll = async () => { await api.post('/notifications/read-all'); void queryClient.invalidateQueries({ queryKey: ['notifications'] }) }
  return (
    <div>
      <h1>{t('notifications')}</h1>
      <button type="button" onClick={() => void readAll()}>{t('markRead')}</button>
      {inbox.isLoading && <Loading />}<ErrorNote error={inbox.error} />
      <ul className="rows">
        {inbox.data?.items.map((n) => (
          <li key={n.id} className={n.read_at ? 'read' : 'unread'}>{date(n.created_at, true)} · <strong>{n.title ?? n.subject}</strong> {n.body ?? ''}</li>
        ))}
        {inbox.data?.items.length === 0 && <li>{t('nothing')}</li>}
      </ul>
    </div>
  )
}
