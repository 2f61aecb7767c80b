// My day: GET /my-day, the caller's activities due today or overdue, stalled and past-due deals, newly assigned
// clients, in one answer the gateway gathers; polled every few seconds with its ETag (a 304 when nothing changed).
import { useState } from 'react'
import { Link } from 'react-router-dom'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api } from '../api/http'
import type { Activity, Client, Deal } from '../api/types'
import { ErrorNote, Loading, Section } from '../components/ui'
import { useI18n } from '../i18n'
import { usePollInterval } from '../live'

const POLL_MS = 5000

interface Part<T> { items: T[]; total: number; partial: boolean; error?: string }
export interface MyDayAnswer {
  date: string; activities: Part<Activity>
  stalled_deals?: Part<Deal>; past_due_deals?: Part<Deal>; new_clients?: Part<Client & { assigned_at?: string }>
}

function Missing({ part }: { part?: Part<unknown> }) {
  const { t } = useI18n()
  return part?.partial ? <p className="muted" role="status">{t('unavailable')}: {part.error ?? ''}</p> : null
}

export function MyDay() {
  const { t, date, money } = useI18n()
  const day = useQuery({ queryKey: ['my-day'], refetchInterval: usePollInterval(POLL_MS), queryFn: () => api.get<MyDayAnswer>('/my-day') })
  const data = day.data
  const deals = [...(data?.stalled_deals?.items ?? []), ...(data?.past_due_deals?.items ?? [])]
    .filter((deal, index, all) => all.findIndex((d) => d.id === deal.id) === index)
  if (day.isLoading) return <Loading />
  return (
    <div>
      <h1>{t('myDay')}</h1>
      <ErrorNote error={day.error} />
      <Section title={t('today')}>
        <Missing part={data?.activities} />
        <ul className="rows">
          {data?.activities.items.map((a) => <ActivityRow key={a.id} activity={a} />)}
          {data?.activities.items.length === 0 && <li>{t('nothing')}</li>}
        </ul>
      </Section>
      {data?.stalled_deals && (
        <Section title={t('stalledDeals')}>
          <Missing part={data.stalled_deals} /><Missing part={data.past_due_deals} />
          <ul className="rows">
            {deals.map((d) => (
              <li key={d.id}><Link to={`/deals/${d.id}`}>{d.title}</Link> — {d.client_name} · {money(d.amount.amount, d.amount.currency)}
                {d.stalled && <strong className="badge"> {t('stalled')}</strong>}
                {d.past_due && <strong className="badge"> {t('overdue')}</strong>}</li>
            ))}
            {deals.length === 0 && <li>{t('nothing')}</li>}
          </ul>
        </Section>
      )}
      {data?.new_clients && (
        <Section title={t('newClients')}>
          <Missing part={data.new_clients} />
          <ul className="rows">
            {data.new_clients.items.map((c) => <li key={c.id}><Link to={`/clients/${c.id}`}>{c.name}</Link> · {date(c.assigned_at ?? c.created_at)}</li>)}
            {data.new_clients.items.length === 0 && <li>{t('nothing')}</li>}
          </ul>
        </Section>
      )}
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
