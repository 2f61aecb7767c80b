// Sales plans: for a month, a row per active manager (and head of sales) with their revenue won, revenue paid and
// deals won targets; saving creates the plan or changes it (If-Match: a plan changed meanwhile is refused, not
// overwritten). The service refuses a closed month and a month inside a quarter plan, shown at the row.
import { useState } from 'react'
import { api, request } from '../../api/http'
import { monthOf, planTargets, planValues, type PlanValues, type SalesPlan, type SalesPlanPage } from '../../api/plans'
import type { User } from '../../api/types'
import { Field, FormMessage, useSubmit } from '../../components/form'
import { ErrorNote, Section } from '../../components/ui'
import { useI18n } from '../../i18n'
import { useAdminList, useRefresh } from './common'

function PlanRow({ user, plan, month, currency, write, onDone }: {
  user: User; plan?: SalesPlan; month: string; currency: string; write: boolean; onDone: () => void
}) {
  const { t } = useI18n()
  const [values, setValues] = useState<PlanValues>(planValues(plan))
  const submit = useSubmit()
  const set = (name: keyof PlanValues) => (e: React.ChangeEvent<HTMLInputElement>) => setValues({ ...values, [name]: e.target.value })
  const save = async (event: React.FormEvent) => {
    event.preventDefault()
    const targets = planTargets(values, currency)
    const action = plan
      ? () => request('PATCH', `/sales-plans/${plan.id}`, { targets }, { 'If-Match': `"${plan.version}"` })
      : () => api.post('/sales-plans', { period: month, manager_id: user.id, targets })
    if (await submit.run(action)) onDone()
  }
  const e = submit.errors.targets ? { ...submit.errors, revenue_won: submit.errors.targets } : submit.errors
  const field = (name: keyof PlanValues, label: string) => (
    <Field id={`plan-${user.id}-${name}`} label={`${user.full_name}: ${label}`} hideLabel errors={e[name]}>
      {(p) => <input {...p} inputMode="decimal" size={12} disabled={!write} value={values[name]} onChange={set(name)} />}</Field>)
  return (
    <tr>
      <th scope="row">{user.full_name}</th>
      <td>{field('revenue_won', t('planRevenueWon'))}</td>
      <td>{field('revenue_paid', t('planRevenuePaid'))}</td>
      <td>{field('deals_won', t('planDealsWon'))}</td>
      <td>{write && <form onSubmit={(ev) => void save(ev)} aria-label={`${user.full_name}: ${t('savePlan')}`} noValidate>
        <button type="submit" disabled={submit.busy}>{plan ? t('save') : t('setPlan')}</button>
        <FormMessage message={submit.message} /></form>}</td>
    </tr>
  )
}

export function SalesPlans({ write, today = new Date() }: { write: boolean; today?: Date }) {
  const { t } = useI18n()
  const [month, setMonth] = useState(monthOf(today))
  const users = useAdminList<User>('/users')
  const plans = useAdminList<SalesPlan, SalesPlanPage>('/sales-plans', { period: month })
  const refresh = useRefresh('/sales-plans')
  const managers = (users.data?.items ?? []).filter((u) => u.is_active && (u.role === 'manager' || u.role === 'head_of_sales'))
  const planOf = (userId: string) => plans.data?.items.find((p) => p.manager_id === userId && p.period === month)
  return (
    <Section title={t('salesPlans')}>
      <ErrorNote error={users.error ?? plans.error} />
      <Field id="plans-month" label={t('month')}>
        {(p) => <input {...p} type="month" value={month} onChange={(e) => e.target.value && setMonth(e.target.value)} />}</Field>
      <div className="table-wrap">
        <table><thead><tr><th scope="col">{t('manager')}</th><th scope="col">{t('planRevenueWon')}</th>
          <th scope="col">{t('planRevenuePaid')}</th><th scope="col">{t('planDealsWon')}</th>
          <th scope="col"><span className="visually-hidden">{t('save')}</span></th></tr></thead>
          {/* keyed by the plan's version so that a saved plan redraws with what the server has */}
          <tbody>{plans.data && managers.map((user) => {
            const plan = planOf(user.id)
            return <PlanRow key={`${user.id}:${month}:${plan?.version ?? 0}`} user={user} plan={plan} month={month}
              currency={plans.data.currency} write={write} onDone={refresh} />
          })}</tbody></table>
      </div>
    </Section>
  )
}
