// My day: the caller's activities due today or overdue, stalled and past-due deals, newly assigned clients.
// Built from /activities, /deals and /clients (a manager sees only their own); polled with ETags.
import { useState } from 'react'
import { Link } from 'react-router-dom'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, query } from '../api/http'
import type { Activity, Client, Deal, Page } from '../api/types'
import { useAuth } from '../auth'
import { ErrorNote, Loading, Section } from '../components/ui'
import { useI18n } from '../i18n'

const POLL_MS = 5000

function endOfToday(): string {
  const end = new Date(); end.setHours(23, 59, 59, 999); return end.toISOString()
}

export function MyDay() {
  const { t, date, money } = useI18n()
  const { me } = useAuth()
  const mine = me?.role === 'manager' ? undefined : me?.id
  const activities = useQuery({ queryKey: ['my-day', 'activities'], refetchInterval: POLL_MS,
    queryFn: () => api.get<Page<Activity>>('/activities' + query({ status: 'planned', due_to: endOfToday(),
      assignee_id: me?.id, sort: 'due_at', limit: 100 })) })
  const stalled = useQuery({ queryKey: ['my-day', 'stalled'], refetchInterval: POLL_MS,
    queryFn: () => api.get<Page<Deal>>('/deals' + query({ status: 'open', stalled: true, owner_id: mine, limit: 50 })) })
  const pastDue = useQuery({ queryKey: ['my-day', 'past-due'], refetchInterval: POLL_MS,
    queryFn: () => api.get<Page<Deal>>('/deals' + query({ status: 'open', past_due: true, owner_id: mine, limit: 50 })) })
  const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10)
  const clients = useQuery({ queryKey: ['my-day', 'clients'], refetchInterval: POLL_MS,
    queryFn: () => api.get<Page<Client>>('/clients' + query({ owner_id: mine, created_from: weekAgo, sort: '-created_at', limit: 20 })) })
  const deals = [...(stalled.data?.items ?? []), ...(pastDue.data?.items ?? [])]
    .filter((deal, index, all) => all.findIndex((d) => d.id === deal.id) === index)
  return (
    <div>
      <h1>{t('myDay')}</h1>
      <Section title={t('today')}>
        {activities.isLoading && <Loading />}<ErrorNote error={activities.error} />
        <ul className="rows">
          {activities.data?.items.map((a) => <ActivityRow key={a.id} activity={a} />)}
          {activities.data?.items.length === 0 && <li>{t('nothing')}</li>}
        </ul>
      </Section>
      <Section title={t('stalledDeals')}>
        <ul className="rows">
          {deals.map((d) => (
            <li key={d.id}><Link to={`/deals/${d.id}`}>{d.title}</Link> — {d.client_name} · {money(d.amount.amount, d.amount.currency)}
              {d.stalled && <strong className="badge"> {t('stalled')}</strong>}
              {d.past_due && <strong className="badge"> {t('overdue')}</strong>}</li>
          ))}
          {deals.length === 0 && <li>{t('nothing')}</li>}
        </ul>
      </Section>
      <Section title={t('newClients')}>
        <ul className="rows">
          {clients.data?.items.map((c) => <li key={c.id}><Link to={`/clients/${c.id}`}>{c.name}</Link> · {date(c.created_at)}</li>)}
          {clients.data?.items.length === 0 && <li>{t('nothing')}</li>}
        </ul>
      </Section>
    </div>
  )
}

/** One activity, completed with its outcome in a single step. */
export function ActivityRow({ activity }: { activity: Activity }) {
  const { t, date } = useI18n()
  const [outcome, setOutcome] = useState('')
  const queryClient = useQueryClient()
  const complete = useMutation({
    mutationFn: () => api.post(`/activities/${activity.id}/complete`, { outcome }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['my-day'] }),
  })
  const inputId = `outcome-${activity.id}`
  return (
    <li className={activity.overdue ? 'activity overdue' : 'activity'}>
      <span>{activity.subject} · {date(activity.due_at, true)}
        {activity.overdue && <strong className="badge"> {t('overdue')}</strong>}</span>
      {activity.status === 'planned' && (
        <form onSubmit={(e) => { e.preventDefault(); complete.mutate() }} className="inline">
          <label className="visually-hidden" htmlFor={inputId}>{t('outcome')}</label>
          <input id={inputId} placeholder={t('outcome')} required value={outcome} onChange={(e) => setOutcome(e.target.value)} />
          <button type="submit" disabled={complete.isPending}>{t('complete')}</button>
        </form>
      )}
      {activity.outcome && <span> — {activity.outcome}</span>}
      <ErrorNote error={complete.error} />
    </li>
  )
}
