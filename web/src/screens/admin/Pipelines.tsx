// Pipelines and their stages: a new pipeline (its stages named in order), and per stage its name, probability,
// SLA days, responsible role, what a deal must have to enter it (fields, completed activity types), order and
// removal. A stage that deals passed through is deactivated by the
// service instead of deleted (it stays for their history); one that holds a deal is refused (409).
import { useState } from 'react'
import { api } from '../../api/http'
import { REQUIRABLE_FIELDS, type Pipeline, type RequirableField, type Role, type Stage } from '../../api/types'
import { Field, FormMessage, useSubmit } from '../../components/form'
import { ErrorNote, Section } from '../../components/ui'
import { useI18n } from '../../i18n'
import { ROLES } from '../../roles'
import { useAdminList, useRefresh } from './common'

/** The stage ids after moving the one at `index` by `delta` places. */
export function reordered(stages: Stage[], index: number, delta: number): string[] {
  const ids = stages.map((s) => s.id)
  const [moved] = ids.splice(index, 1)
  ids.splice(index + delta, 0, moved)
  return ids
}

/** "demo, site_visit" -> ["demo", "site_visit"]: the activity type codes a stage requires, each once. */
export function activityCodes(text: string): string[] {
  return [...new Set(text.split(/[,\s]+/).map((code) => code.trim()).filter(Boolean))]
}

/** The stage's required fields with `field` switched on or off, in the list's own order. */
export function toggledFields(current: RequirableField[], field: RequirableField, on: boolean): RequirableField[] {
  return REQUIRABLE_FIELDS.filter((f) => (f === field ? on : current.includes(f)))
}

function Requirements({ stage, errors, onChange }: {
  stage: Stage; errors: Record<string, string[]>; onChange: (changes: Partial<Stage>) => void
}) {
  const { t } = useI18n()
  const fields = stage.required_fields ?? []
  const activities = (stage.required_activities ?? []).join(', ')
  return (
    <>
      <fieldset className="checks"><legend className="visually-hidden">{`${stage.name}: ${t('requiredFields')}`}</legend>
        {REQUIRABLE_FIELDS.map((field) => (
          <label key={field}><input type="checkbox" checked={fields.includes(field)}
            onChange={(ev) => onChange({ required_fields: toggledFields(fields, field, ev.target.checked) })} />
            {t(`field_${field}`)}</label>))}
        {errors.required_fields && <span className="field-error">{errors.required_fields.join(' ')}</span>}
      </fieldset>
      <Field id={`${stage.id}-activities`} label={`${stage.name}: ${t('requiredActivities')}`} hideLabel
        errors={errors.required_activities}>
        {(p) => <input {...p} defaultValue={activities} placeholder="demo"
          onBlur={(ev) => { const codes = activityCodes(ev.target.value); if (codes.join(', ') !== activities) onChange({ required_activities: codes }) }} />}</Field>
    </>
  )
}

/** "Lead, Offer, Contract" -> stages with probabilities rising evenly to 90 (editable afterwards). */
export function stagesFromNames(text: string): { name: string; probability: number }[] {
  const names = text.split(/[,\n]/).map((name) => name.trim()).filter(Boolean)
  return names.map((name, i) => ({ name, probability: Math.round(((i + 1) * 90) / names.length) }))
}

function StageRow({ pipeline, stages, index, write, onDone }: {
  pipeline: Pipeline; stages: Stage[]; index: number; write: boolean; onDone: () => void
}) {
  const { t } = useI18n()
  const submit = useSubmit()
  const s = stages[index]
  const base = `/pipelines/${pipeline.id}/stages/${s.id}`
  const change = (action: () => Promise<unknown>) => void submit.run(action).then((ok) => ok && onDone())
  const patch = (changes: Partial<Stage>) => change(() => api.patch(base, changes))
  const e = submit.errors
  if (!write) {
    const required = [...(s.required_fields ?? []).map((f) => t(`field_${f}`)), ...(s.required_activities ?? [])]
    return <tr><td>{s.name}</td><td>{s.probability}</td><td>{s.sla_days ?? '—'}</td>
      <td>{s.responsible_role ? t(`role_${s.responsible_role}`) : '—'}</td><td>{required.join(', ') || '—'}</td><td /></tr>
  }
  return (
    <tr>
      <td><Field id={`${s.id}-name`} label={`${s.name}: ${t('name')}`} hideLabel errors={e.name}>
        {(p) => <input {...p} defaultValue={s.name} required
          onBlur={(ev) => { const name = ev.target.value.trim(); if (name !== s.name) patch({ name }) }} />}</Field>
        <FormMessage message={submit.message} /></td>
      <td><Field id={`${s.id}-probability`} label={`${s.name}: ${t('probability')}`} hideLabel errors={e.probability}>
        {(p) => <input {...p} type="number" min={0} max={100} defaultValue={s.probability}
          onBlur={(ev) => { if (Number(ev.target.value) !== s.probability) patch({ probability: Number(ev.target.value) }) }} />}</Field></td>
      <td><Field id={`${s.id}-sla`} label={`${s.name}: ${t('slaDays')}`} hideLabel errors={e.sla_days}>
        {(p) => <input {...p} type="number" min={1} defaultValue={s.sla_days ?? ''}
          onBlur={(ev) => { const sla = ev.target.value ? Number(ev.target.value) : null; if (sla !== s.sla_days) patch({ sla_days: sla }) }} />}</Field></td>
      <td><Field id={`${s.id}-role`} label={`${s.name}: ${t('responsibleRole')}`} hideLabel errors={e.responsible_role}>
        {(p) => <select {...p} value={s.responsible_role ?? ''} onChange={(ev) => patch({ responsible_role: (ev.target.value || null) as Role | null })}>
          <option value="">—</option>{ROLES.map((role) => <option key={role} value={role}>{t(`role_${role}`)}</option>)}</select>}</Field></td>
      <td><Requirements stage={s} errors={e} onChange={patch} /></td>
      <td className="nowrap">
        <button type="button" disabled={index === 0} aria-label={`${s.name}: ${t('up')}`}
          onClick={() => change(() => api.put(`/pipelines/${pipeline.id}/stage-order`, { stage_ids: reordered(stages, index, -1) }))}>↑</button>
        <button type="button" disabled={index === stages.length - 1} aria-label={`${s.name}: ${t('down')}`}
          onClick={() => change(() => api.put(`/pipelines/${pipeline.id}/stage-order`, { stage_ids: reordered(stages, index, 1) }))}>↓</button>
        <button type="button" aria-label={`${s.name}: ${t('remove')}`} disabled={stages.length === 1}
          onClick={() => { if (window.confirm(t('removeStageConfirm', { name: s.name }))) change(() => api.del(base)) }}>✕</button>
      </td>
    </tr>
  )
}

function AddStage({ pipeline, onDone }: { pipeline: Pipeline; onDone: () => void }) {
  const { t } = useI18n()
  const [values, setValues] = useState({ name: '', probability: '50', sla_days: '' })
  const submit = useSubmit()
  const prefix = `stage-${pipeline.id}`
  const add = async (event: React.FormEvent) => {
    event.preventDefault()
    const body = { name: values.name, probability: Number(values.probability), sla_days: values.sla_days ? Number(values.sla_days) : null }
    if (await submit.run(() => api.post(`/pipelines/${pipeline.id}/stages`, body))) { setValues({ name: '', probability: '50', sla_days: '' }); onDone() }
  }
  return (
    <form className="form" onSubmit={(e) => void add(e)} noValidate aria-label={`${pipeline.name}: ${t('addStage')}`}>
      <Field id={`${prefix}-name`} label={t('stage')} errors={submit.errors.name}>
        {(p) => <input {...p} value={values.name} onChange={(e) => setValues({ ...values, name: e.target.value })} />}</Field>
      <Field id={`${prefix}-probability`} label={t('probability')} errors={submit.errors.probability}>
        {(p) => <input {...p} type="number" min={0} max={100} value={values.probability} onChange={(e) => setValues({ ...values, probability: e.target.value })} />}</Field>
      <Field id={`${prefix}-sla`} label={t('slaDays')} errors={submit.errors.sla_days}>
        {(p) => <input {...p} type="number" min={1} value={values.sla_days} onChange={(e) => setValues({ ...values, sla_days: e.target.value })} />}</Field>
      <FormMessage message={submit.message} />
      <button type="submit" disabled={submit.busy}>{t('addStage')}</button>
    </form>
  )
}

function NewPipeline({ onDone }: { onDone: () => void }) {
  const { t } = useI18n()
  const [name, setName] = useState('')
  const [stages, setStages] = useState('')
  const submit = useSubmit()
  const add = async (event: React.FormEvent) => {
    event.preventDefault()
    if (await submit.run(() => api.post('/pipelines', { name, stages: stagesFromNames(stages) }))) { setName(''); setStages(''); onDone() }
  }
  return (
    <form className="form" onSubmit={(e) => void add(e)} noValidate aria-label={t('newPipeline')}>
      <Field id="pipeline-name" label={t('name')} errors={submit.errors.name}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
      <Field id="pipeline-stages" label={t('stagesInOrder')} errors={submit.errors.stages}>
        {(p) => <input {...p} value={stages} placeholder="Lead, Offer, Contract" onChange={(e) => setStages(e.target.value)} />}</Field>
      <FormMessage message={submit.message} />
      <button type="submit" disabled={submit.busy}>{t('newPipeline')}</button>
    </form>
  )
}

export function Pipelines({ write }: { write: boolean }) {
  const { t } = useI18n()
  const pipelines = useAdminList<Pipeline>('/pipelines')
  const refresh = useRefresh('/pipelines', ['pipelines'], ['board'])
  return (
    <Section title={t('pipelines')}>
      <ErrorNote error={pipelines.error} />
      {pipelines.data?.items.map((p) => {
        const stages = p.stages.filter((s) => s.is_active).sort((a, b) => a.position - b.position)
        return (
          <div key={p.id} className="pipeline">
            <div className="table-wrap">
              <table><caption>{p.name}{p.is_default ? ` · ${t('default')}` : ''}</caption>
                <thead><tr><th scope="col">{t('stage')}</th><th scope="col">{t('probability')}</th><th scope="col">{t('slaDays')}</th>
                  <th scope="col">{t('responsibleRole')}</th><th scope="col">{t('requiredFields')}</th>
                  <th scope="col"><span className="visually-hidden">{t('order')}</span></th></tr></thead>
                {/* keyed by the stage's values so an edit made elsewhere redraws the inputs with what the server has */}
                <tbody>{stages.map((s, i) => <StageRow pipeline={p}
                  key={`${s.id}:${s.name}:${s.probability}:${s.sla_days}:${(s.required_activities ?? []).join(',')}`}
                  stages={stages} index={i} write={write} onDone={refresh} />)}</tbody>
              </table>
            </div>
            {write && <AddStage pipeline={p} onDone={refresh} />}
          </div>
        )
      })}
      {write && <details><summary>{t('newPipeline')}</summary><NewPipeline onDone={refresh} /></details>}
    </Section>
  )
}
