// The hand-off queue: the work stages hand to the caller's role when a deal enters them. One user of the role
// takes a hand-off, then completes it (with an optional comment); the head of sales and admins look at any
// role's queue.
import { useState } from 'react'
import { Link } from 'react-router-dom'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { handOffsApi } from '../api/handoffs'
import type { HandOff, HandOffState, Me, Role } from '../api/types'
import { useAuth } from '../auth'
import { FormMessage, useSubmit } from '../components/form'
import { ErrorNote, Loading } from '../components/ui'
import { useI18n } from '../i18n'
import { usePollInterval } from '../live'
import { canUse, ROLES, seesTeam } from '../roles'

const STATES: HandOffState[] = ['open', 'taken', 'done', 'cancelled']

function HandOffRow({ handOff, me, onChanged }: { handOff: HandOff; me: Me; onChanged: () => void }) {
  const { t, date } = useI18n()
  const submit = useSubmit()
  const [comment, setComment] = useState('')
  const h = handOff
  const act = (action: () => Promise<unknown>) => void submit.run(action).then((ok) => ok && onChanged())
  const title = canUse(me.role, 'board') ? <Link to={`/deals/${h.deal_id}`}>{h.deal_title}</Link> : h.deal_title
  return (
    <li className={h.overdue ? 'overdue' : undefined} data-hand-off={h.deal_title}>
      <strong>{title}</strong>{h.client_name ? ` · ${h.client_name}` : ''} · {h.stage_name} · {t(`role_${h.role}`)}
      {' · '}{t(`handOff_${h.state}`)}{h.taken_by === me.id ? ` (${t('byYou')})` : ''}
      {h.due_at && <> · {t('dueBy', { date: date(h.due_at, true) })}</>}
      {h.overdue && <strong className="badge"> {t('overdue')}</strong>}
      {h.comment && <> · {h.comment}</>}{h.cancel_reason && <> · {h.cancel_reason}</>}
      {h.state === 'open' && h.role === me.role && (
        <button type="button" disabled={submit.busy} onClick={() => act(() => handOffsApi.take(h.id))}>{t('take')}</button>)}
      {h.state === 'taken' && h.taken_by === me.id && (
        <span className="inline-form">
          <label htmlFor={`comment-${h.id}`}>{t('comment')}</label>
          <input id={`comment-${h.id}`} value={comment} maxLength={2000} onChange={(e) => setComment(e.target.value)} />
          <button type="button" disabled={submit.busy}
            onClick={() => act(() => handOffsApi.complete(h.id, comment))}>{t('complete')}</button>
        </span>)}
      <FormMessage message={submit.message} />
    </li>
  )
}

export function HandOffs() {
  const { t } = useI18n()
  const { me } = useAuth()
  const queryClient = useQueryClient()
  const [state, setState] = useState<HandOffState>('open')
  const [role, setRole] = useState<Role | ''>(me?.role ?? '')
  const key = ['hand-offs', role, state]
  const queue = useQuery({ queryKey: key, refetchInterval: usePollInterval(15_000),
    queryFn: () => handOffsApi.list(role || undefined, state) })
  if (!me) return null
  const changed = () => { void queryClient.invalidateQueries({ queryKey: ['hand-offs'] }) }
  return (
    <div>
      <h1>{t('handOffs')}</h1>
      <div className="filters">
        <label htmlFor="hand-off-state">{t('status')}</label>
        <select id="hand-off-state" value={state} onChange={(e) => setState(e.target.value as HandOffState)}>
          {STATES.map((s) => <option key={s} value={s}>{t(`handOff_${s}`)}</option>)}</select>
        {seesTeam(me.role) && <>
          <label htmlFor="hand-off-role">{t('role')}</label>
          <select id="hand-off-role" value={role} onChange={(e) => setRole(e.target.value as Role | '')}>
            <option value="">{t('all')}</option>
            {ROLES.map((r) => <option key={r} value={r}>{t(`role_${r}`)}</option>)}</select>
        </>}
      </div>
      {queue.isLoading && <Loading />}<ErrorNote error={queue.error} />
      <ul className="rows">
        {queue.data?.items.map((h) => <HandOffRow key={`${h.id}:${h.state}`} handOff={h} me={me} onChanged={changed} />)}
        {queue.data?.items.length === 0 && <li>{t('nothing')}</li>}
      </ul>
    </div>
  )
}
