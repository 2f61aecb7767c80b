// Commission schemes: per scheme its latest version's tiers (plan attainment % from, to, the rate), editable; a
// change is saved as a new version from a month on (the service never rewrites an earlier one, and refuses a
// closed month or a tier chain with a gap, naming the tier). If-Match: a scheme changed meanwhile is refused.
import { useState } from 'react'
import { request } from '../../api/http'
import { tiersToSend, withTier, type CommissionScheme } from '../../api/plans'
import { Field, FormMessage, useSubmit } from '../../components/form'
import { ErrorNote, Section } from '../../components/ui'
import { useI18n } from '../../i18n'
import { useAdminList, useRefresh } from './common'

type Row = { from_pct: string; to_pct: string; rate_pct: string }

function SchemeTiers({ scheme, write, month, onDone }: { scheme: CommissionScheme; write: boolean; month: string; onDone: () => void }) {
  const { t } = useI18n()
  const latest = scheme.versions[scheme.versions.length - 1]
  const [rows, setRows] = useState<Row[]>(latest.tiers.map((tier) => ({ ...tier, to_pct: tier.to_pct ?? '' })))
  const [validFrom, setValidFrom] = useState(month)
  const submit = useSubmit()
  const setCell = (index: number, name: keyof Row) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setRows(rows.map((row, i) => (i === index ? { ...row, [name]: e.target.value } : row)))
  const save = async (event: React.FormEvent) => {
    event.preventDefault()
    const body = { valid_from: `${validFrom}-01`, base: latest.base, deal_bonus: latest.deal_bonus, tiers: tiersToSend(rows) }
    if (await submit.run(() => request('POST', `/commission-schemes/${scheme.id}/versions`, body,
      { 'If-Match': `"${scheme.revision}"` }))) onDone()
  }
  const cell = (index: number, name: keyof Row, label: string) => (
    <Field id={`tier-${scheme.id}-${index}-${name}`} label={`${scheme.name}, ${t('tier')} ${index + 1}: ${label}`} hideLabel>
      {(p) => <input {...p} inputMode="decimal" size={6} disabled={!write} value={rows[index][name]} onChange={setCell(index, name)} />}</Field>)
  return (
    <form className="form" onSubmit={(e) => void save(e)} noValidate aria-label={`${scheme.name}: ${t('newVersion')}`}>
      <div className="table-wrap">
        <table><caption>{scheme.name} · v{latest.version} · {t('validFrom')} {latest.valid_from}</caption>
          <thead><tr><th scope="col">{t('fromPct')}</th><th scope="col">{t('toPct')}</th><th scope="col">{t('ratePct')}</th>
            <th scope="col"><span className="visually-hidden">{t('remove')}</span></th></tr></thead>
          <tbody>{rows.map((row, index) => (
            <tr key={index}>
              <td>{cell(index, 'from_pct', t('fromPct'))}</td><td>{cell(index, 'to_pct', t('toPct'))}</td>
              <td>{cell(index, 'rate_pct', t('ratePct'))}</td>
              <td>{write && <button type="button" disabled={rows.length === 1} aria-label={`${t('tier')} ${index + 1}: ${t('remove')}`}
                onClick={() => setRows(rows.filter((_, i) => i !== index))}>✕</button>}</td>
            </tr>))}</tbody></table>
      </div>
      {submit.errors.tiers && <p className="field-error">{submit.errors.tiers.join(' ')}</p>}
      {write && <>
        <button type="button" onClick={() => setRows(withTier(rows))}>{t('addTier')}</button>
        <Field id={`scheme-${scheme.id}-from`} label={t('validFrom')} errors={submit.errors.valid_from}>
          {(p) => <input {...p} type="month" value={validFrom} onChange={(e) => setValidFrom(e.target.value)} />}</Field>
        <FormMessage message={submit.message} />
        <button type="submit" disabled={submit.busy}>{t('newVersion')}</button>
      </>}
    </form>
  )
}

export function CommissionSchemes({ write, month }: { write: boolean; month: string }) {
  const { t } = useI18n()
  const schemes = useAdminList<CommissionScheme>('/commission-schemes')
  const refresh = useRefresh('/commission-schemes')
  return (
    <Section title={t('commissionSchemes')}>
      <ErrorNote error={schemes.error} />
      {schemes.data?.items.map((scheme) => <SchemeTiers key={`${scheme.id}:${scheme.revision}`} scheme={scheme} write={write}
        month={month} onDone={refresh} />)}
    </Section>
  )
}
