// Admin: users and teams, pipelines and their stages (SLA days, probability, responsible role, order),
// lost reasons, activity types, channels, exchange rates. Lists with the common edits.
import { useState } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { api } from '../api/http'
import type { LostReason, Page, Pipeline, Stage, Team, User } from '../api/types'
import { ErrorNote, Section } from '../components/ui'
import { useI18n } from '../i18n'

export default function Admin() {
  const { t } = useI18n()
  return (
    <div>
      <h1>{t('admin')}</h1>
      <div className="grid">
        <Users />
        <SimpleList<Team> title={t('teams')} path="/teams" label={(x) => x.name} create={(name) => ({ name })} />
        <Pipelines />
        <SimpleList<LostReason> title={t('lostReasons')} path="/lost-reasons" label={(x) => x.name} create={(name) => ({ name })} />
        <SimpleList<{ code: string; name: string }> title={t('activityTypes')} path="/activity-types" label={(x) => `${x.name} (${x.code})`}
          create={(name) => ({ name, code: name.toLowerCase().replace(/[^a-z0-9]+/g, '_') })} />
        <SimpleList<{ code: string; name: string }> title={t('channelsAdmin')} path="/channels" label={(x) => `${x.name} (${x.code})`}
          create={(name) => ({ name, code: name.toLowerCase().replace(/[^a-z0-9]+/g, '_') })} />
        <SimpleList<{ currency: string; rate_to_base: string; valid_from: string }> title={t('fxRates')} path="/fx-rates"
          label={(x) => `${x.currency} ${x.rate_to_base} ${x.valid_from}`} />
      </div>
    </div>
  )
}

function Users() {
  const { t } = useI18n()
  const users = useQuery({ queryKey: ['admin', 'users'], queryFn: () => api.get<Page<User>>('/users?limit=200') })
  return (
    <Section title={t('users')}>
      <ErrorNote error={users.error} />
      <table><thead><tr><th scope="col">{t('name')}</th><th scope="col">{t('email')}</th><th scope="col">{t('role')}</th></tr></thead>
        <tbody>{users.data?.items.map((u) => <tr key={u.id}><td>{u.full_name}</td><td>{u.email}</td><td>{u.role}</td></tr>)}</tbody></table>
    </Section>
  )
}

function SimpleList<T extends object>({ title, path, label, create }: {
  title: string; path: string; label: (item: T) => string; create?: (name: string) => object
}) {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [name, setName] = useState('')
  const [error, setError] = useState<unknown>(null)
  const list = useQuery({ queryKey: ['admin', path], queryFn: () => api.get<Page<T>>(`${path}?limit=200`) })
  const add = async (event: React.FormEvent) => {
    event.preventDefault()
    try { await api.post(path, create!(name)); setName(''); setError(null); void queryClient.invalidateQueries({ queryKey: ['admin', path] }) }
    catch (err) { setError(err) }
  }
  const inputId = `add-${path.replace(/\W/g, '')}`
  return (
    <Section title={title}>
      <ErrorNote error={list.error ?? error} />
      <ul className="rows">{list.data?.items.map((item, i) => <li key={i}>{label(item)}</li>)}</ul>
      {create && (
        <form onSubmit={add} className="inline">
          <label className="visually-hidden" htmlFor={inputId}>{t('name')}</label>
          <input id={inputId} required value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit">{t('add')}</button>
        </form>
      )}
    </Section>
  )
}

function Pipelines() {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [error, setError] = useState<unknown>(null)
  const pipelines = useQuery({ queryKey: ['admin', 'pipelines'], queryFn: () => api.get<Page<Pipeline>>('/pipelines?limit=200') })
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['admin', 'pipelines'] })
  const reorder = async (pipeline: Pipeline, stages: Stage[], index: number, delta: number) => {
    const ids = stages.map((s) => s.id)
    const [moved] = ids.splice(index, 1)
    ids.splice(index + delta, 0, moved)
    try { await api.put(`/pipelines/${pipeline.id}/stage-order`, { stage_ids: ids }); void refresh() } catch (err) { setError(err) }
  }
  const patch = async (pipeline: Pipeline, stage: Stage, changes: Partial<Stage>) => {
    try { await api.patch(`/pipelines/${pipeline.id}/stages/${stage.id}`, changes); void refresh() } catch (err) { setError(err) }
  }
  return (
    <Section title={t('pipelines')}>
      <ErrorNote error={pipelines.error ?? error} />
      {pipelines.data?.items.map((p) => {
        const stages = p.stages.filter((s) => s.is_active)
        return (
          <table key={p.id}><caption>{p.name}</caption>
            <thead><tr><th scope="col">{t('stage')}</th><th scope="col">{t('probability')}</th><th scope="col">{t('slaDays')}</th>
              <th scope="col">{t('responsibleRole')}</th><th scope="col"><span className="visually-hidden">{t('up')}/{t('down')}</span></th></tr></thead>
            <tbody>{stages.map((s, i) => (
              <tr key={s.id}><td>{s.name}</td>
                <td><input aria-label={`${s.name} ${t('probability')}`} type="number" min={0} max={100} defaultValue={s.probability}
                  onBlur={(e) => void patch(p, s, { probability: Number(e.target.value) })} /></td>
                <td><input aria-label={`${s.name} ${t('slaDays')}`} type="number" min={1} defaultValue={s.sla_days ?? ''}
                  onBlur={(e) => void patch(p, s, { sla_days: e.target.value ? Number(e.target.value) : null })} /></td>
                <td>{s.responsible_role ?? '—'}</td>
                <td><button type="button" disabled={i === 0} onClick={() => void reorder(p, stages, i, -1)} aria-label={`${s.name}: ${t('up')}`}>↑</button>
                  <button type="button" disabled={i === stages.length - 1} onClick={() => void reorder(p, stages, i, 1)} aria-label={`${s.name}: ${t('down')}`}>↓</button></td></tr>
            ))}</tbody>
          </table>
        )
      })}
    </Section>
  )
}
