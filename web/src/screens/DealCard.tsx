import { useState } from 'react'
import { Link, useParams } from 'react-router-dom'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { dealsApi } from '../api/deals'
import { ChangeHistory } from '../components/ChangeHistory'
import { CloseDeal } from '../components/CloseDeal'
import { DealEdit } from '../components/DealEdit'
import { ErrorNote, Loading, Section } from '../components/ui'
import { useI18n } from '../i18n'
import { useAuth } from '../auth'
import { api, query } from '../api/http'
import type { Activity, Deal, Page } from '../api/types'
import { ActivityRow } from './MyDay'
import { HandOffBadge } from '../components/HandOffBadge'

export function DealCard() {
  const { dealId = '' } = useParams()
  const { t, date, money } = useI18n()
  const queryClient = useQueryClient()
  const [editing, setEditing] = useState(false)
  const { me } = useAuth()
  const deal = useQuery({ queryKey: ['deal', dealId], queryFn: () => dealsApi.deal(dealId) })
  const history = useQuery({ queryKey: ['deal', dealId, 'history'], queryFn: () => dealsApi.history(dealId) })
  const activities = useQuery({ queryKey: ['deal', dealId, 'activities'],
    queryFn: () => api.get<Page<Activity>>('/activities' + query({ deal_id: dealId, limit: 50 })) })
  if (deal.isLoading) return <Loading />
  if (!deal.data) return <ErrorNote error={deal.error} />
  const d = deal.data
  const saved = (next: Deal) => {
    queryClient.setQueryData(['deal', dealId], next)
    void queryClient.invalidateQueries({ queryKey: ['deal', dealId, 'history'] })
    void queryClient.invalidateQueries({ queryKey: ['deal', dealId, 'changes'] })
  }
  return (
    <div>
      <h1>{d.title}</h1>
      <dl className="fields">
        <dt>{t('client')}</dt><dd><Link to={`/clients/${d.client_id}`}>{d.client_name ?? d.client_id}</Link></dd>
        <dt>{t('amount')}</dt><dd>{money(d.amount.amount, d.amount.currency)}</dd>
        <dt>{t('stage')}</dt><dd>{d.stage_name} ({d.stage_probability}%)</dd>
        <dt>{t('status')}</dt><dd className={`status-${d.status}`}>{t(d.status === 'open' ? 'open' : d.status)}
          {d.lost_reason_name ? ` · ${d.lost_reason_name}` : ''}{d.stalled && <strong className="badge"> {t('stalled')}</strong>}</dd>
        <dt>{t('expectedClose')}</dt><dd>{date(d.expected_close_on)}</dd>
        {d.hand_off && <><dt>{t('handOff')}</dt><dd><HandOffBadge handOff={d.hand_off} />
          {d.hand_off.due_at && ` ${t('dueBy', { date: date(d.hand_off.due_at, true) })}`}</dd></>}
      </dl>
      <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>{t('edit')}</button>
      {editing && <DealEdit deal={d} onSaved={(next) => { saved(next); setEditing(false) }} onStale={() => deal.refetch()} />}
      <CloseDeal deal={d} onDone={saved} />
      <Section title={t('history')}>
        <ol className="rows">{history.data?.items.map((h) => (
          <li key={h.entered_at}>{h.stage_name}: {date(h.entered_at, true)} → {h.left_at ? date(h.left_at, true) : '…'} ({h.days})</li>))}</ol>
      </Section>
      <Section title={t('changeHistory')}>
        <ChangeHistory queryKey={['deal', dealId, 'changes']} viewerId={me?.id}
          load={(cursor) => dealsApi.changes(dealId, 20, cursor)} />
      </Section>
      <Section title={t('activities')}>
        <ul className="rows">{activities.data?.items.map((a) => <ActivityRow key={a.id} activity={a} />)}
          {activities.data?.items.length === 0 && <li>{t('nothing')}</li>}</ul>
      </Section>
    </div>
  )
}
