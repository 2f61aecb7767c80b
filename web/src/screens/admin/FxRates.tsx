// Exchange rates: the recorded ones, newest first, and a new one (one unit of the currency in the base currency,
// from a day on). A rate recorded by mistake can be deleted.
import { useState } from 'react'
import { api } from '../../api/http'
import { Field, FormMessage, useSubmit } from '../../components/form'
import { ErrorNote, Section } from '../../components/ui'
import { useI18n } from '../../i18n'
import { useAdminList, useRefresh } from './common'

interface Rate { id: string; currency: string; rate_to_base: string; valid_from: string }
const EMPTY = { currency: '', rate_to_base: '', valid_from: '' }

export function FxRates() {
  const { t, date } = useI18n()
  const rates = useAdminList<Rate>('/fx-rates')
  const refresh = useRefresh('/fx-rates')
  const [values, setValues] = useState(EMPTY)
  const submit = useSubmit()
  const removal = useSubmit()
  const set = (name: keyof typeof EMPTY) => (e: React.ChangeEvent<HTMLInputElement>) => setValues({ ...values, [name]: e.target.value })
  const add = async (event: React.FormEvent) => {
    event.preventDefault()
    const body = { ...values, currency: values.currency.trim().toUpperCase(), rate_to_base: values.rate_to_base.trim().replace(',', '.') }
    if (await submit.run(() => api.post('/fx-rates', body))) { setValues(EMPTY); refresh() }
  }
  return (
    <Section title={t('fxRates')}>
      <ErrorNote error={rates.error} />
      <FormMessage message={removal.message} />
      <div className="table-wrap">
        <table><thead><tr><th scope="col">{t('currency')}</th><th scope="col">{t('rateToBase')}</th><th scope="col">{t('validFrom')}</th>
          <th scope="col"><span className="visually-hidden">{t('remove')}</span></th></tr></thead>
          <tbody>{rates.data?.items.map((r) => (
            <tr key={r.id}><td>{r.currency}</td><td>{r.rate_to_base}</td><td>{date(r.valid_from)}</td>
              <td><button type="button" aria-label={`${t('remove')}: ${r.currency} ${r.valid_from}`}
                onClick={() => void removal.run(() => api.del(`/fx-rates/${r.id}`)).then((ok) => ok && refresh())}>{t('remove')}</button></td></tr>
          ))}</tbody></table>
      </div>
      <form className="form" onSubmit={(e) => void add(e)} noValidate aria-label={t('recordRate')}>
        <Field id="fx-currency" label={t('currency')} errors={submit.errors.currency}>
          {(p) => <input {...p} maxLength={3} size={4} placeholder="USD" value={values.currency} onChange={set('currency')} />}</Field>
        <Field id="fx-rate" label={t('rateToBase')} errors={submit.errors.rate_to_base}>
          {(p) => <input {...p} inputMode="decimal" value={values.rate_to_base} onChange={set('rate_to_base')} />}</Field>
        <Field id="fx-from" label={t('validFrom')} errors={submit.errors.valid_from}>
          {(p) => <input {...p} type="date" value={values.valid_from} onChange={set('valid_from')} />}</Field>
        <FormMessage message={submit.message} />
        <button type="submit" disabled={submit.busy}>{t('recordRate')}</button>
      </form>
    </Section>
  )
}
