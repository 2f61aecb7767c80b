// Edit a deal's title, amount, expected close date and campaign. The version the form was drawn from travels as
// If-Match (the deal's ETag is its version): a deal changed meanwhile is a 412, answered by reloading it and
// saying so, never by overwriting someone else's change.
import { useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { api, ApiError, request } from '../api/http'
import type { Deal, Page } from '../api/types'
import { useI18n } from '../i18n'
import { Field, FormMessage, useSubmit } from './form'

interface Values { title: string; amount: string; currency: string; expected_close_on: string; campaign_id: string }

function valuesOf(deal: Deal): Values {
  return { title: deal.title, amount: deal.amount.amount, currency: deal.amount.currency,
    expected_close_on: deal.expected_close_on ?? '', campaign_id: deal.campaign_id ?? '' }
}

/** Only what changed: an unchanged field is not sent (and cannot fail validation it passed before). */
export function dealChanges(deal: Deal, values: Values): Record<string, unknown> {
  const before = valuesOf(deal)
  const changes: Record<string, unknown> = {}
  if (values.title !== before.title) changes.title = values.title
  if (values.amount !== before.amount || values.currency !== before.currency) {
    changes.amount = { amount: values.amount, currency: values.currency.toUpperCase() }
  }
  if (values.expected_close_on !== before.expected_close_on) changes.expected_close_on = values.expected_close_on || null
  if (values.campaign_id !== before.campaign_id) changes.campaign_id = values.campaign_id || null
  return changes
}

export function DealEdit({ deal, onSaved, onStale }: {
  deal: Deal; onSaved: (deal: Deal) => void; onStale: () => Promise<unknown>
}) {
  const { t } = useI18n()
  const [values, setValues] = useState<Values>(() => valuesOf(deal))
  const [drawnFrom, setDrawnFrom] = useState(deal.version)
  if (deal.version !== drawnFrom) { // reloaded or saved: start again from what the server has now
    setDrawnFrom(deal.version); setValues(valuesOf(deal))
  }
  const [stale, setStale] = useState(false)
  const submit = useSubmit()
  // Campaigns are the clients service's; a role that may not list them keeps the deal's as it is.
  const campaigns = useQuery({ queryKey: ['campaigns'], retry: false,
    queryFn: () => api.get<Page<{ id: string; name: string }>>('/campaigns?limit=200') })
  const set = (name: keyof Values) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setValues({ ...values, [name]: e.target.value })
  const save = async (event: React.FormEvent) => {
    event.preventDefault()
    const changes = dealChanges(deal, values)
    if (!Object.keys(changes).length) return
    let saved: Deal | null = null
    let preconditionFailed = false
    await submit.run(async () => {
      try {
        saved = (await request<Deal>('PATCH', `/deals/${deal.id}`, changes, { 'If-Match': `"${deal.version}"` })).body
      } catch (err) {
        preconditionFailed = err instanceof ApiError && err.status === 412
        throw err
      }
    })
    if (saved) { setStale(false); onSaved(saved) }
    if (preconditionFailed) { submit.reset(); setStale(true); await onStale() }
  }
  const errors = submit.errors
  const amountErrors = [...(errors.amount ?? []), ...(errors['amount.amount'] ?? []), ...(errors['amount.currency'] ?? [])]
  return (
    <form className="panel form" onSubmit={(e) => void save(e)} noValidate aria-label={t('editDeal')}>
      <Field id="deal-title" label={t('title')} errors={errors.title}>
        {(props) => <input {...props} value={values.title} onChange={set('title')} />}
      </Field>
      <Field id="deal-amount" label={t('amount')} errors={amountErrors.length ? amountErrors : undefined}>
        {(props) => <input {...props} inputMode="decimal" value={values.amount} onChange={set('amount')} />}
      </Field>
      <Field id="deal-currency" label={t('currency')}>
        {(props) => <input {...props} size={4} maxLength={3} value={values.currency} onChange={set('currency')} />}
      </Field>
      <Field id="deal-close" label={t('expectedClose')} errors={errors.expected_close_on}>
        {(props) => <input {...props} type="date" value={values.expected_close_on} onChange={set('expected_close_on')} />}
      </Field>
      {campaigns.data && (
        <Field id="deal-campaign" label={t('campaign')} errors={errors.campaign_id}>
          {(props) => (
            <select {...props} value={values.campaign_id} onChange={set('campaign_id')}>
              <option value="">—</option>
              {campaigns.data.items.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </select>
          )}
        </Field>
      )}
      <FormMessage message={submit.message} />
      {stale && <p role="alert" className="error">{t('dealChangedReloaded')}</p>}
      <button type="submit" disabled={submit.busy}>{t('save')}</button>
    </form>
  )
}
