// The dashboard's "Plan" panel: per manager with a sales plan for the month or quarter picked, the revenue won
// against its target (GET /kpi/plans). Plans are per month or quarter: another period shows a note, asks nothing.
import { useQuery } from '@tanstack/react-query'
import { api, query } from '../api/http'
import { useI18n } from '../i18n'
import type { Period } from '../screens/dashboardData'
import { ErrorNote, Loading } from './ui'

type Money = { amount: string; currency: string }
interface Measure { target: Money | null; actual: Money; attainment_pct: number | null; run_rate: Money | null }
interface ManagerPlan { manager_id: string; name: string | null; revenue_won: Measure; gap: { deals: number | null } }
interface PlansAnswer { managers: ManagerPlan[] }

const lastDay = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

/** "2027-04" for a whole calendar month, "2027-Q2" for a whole quarter, else null. */
export function planPeriod({ from, to }: Period): string | null {
  const [fy, fm, fd] = from.split('-').map(Number)
  const [ty, tm, td] = to.split('-').map(Number)
  if (fd !== 1 || fy !== ty || td !== lastDay(ty, tm)) return null
  if (fm === tm) return `${fy}-${String(fm).padStart(2, '0')}`
  if (tm - fm === 2 && (fm - 1) % 3 === 0) return `${fy}-Q${(fm - 1) / 3 + 1}`
  return null
}

export function PlanPanel({ period }: { period: Period }) {
  const { t, money } = useI18n()
  const asked = planPeriod(period)
  const plans = useQuery({ queryKey: ['kpi', 'plans', asked], enabled: asked !== null,
    queryFn: () => api.get<PlansAnswer>('/kpi/plans' + query({ period: asked })) })
  if (asked === null) return <p className="muted">{t('planPeriodOnly')}</p>
  if (plans.isLoading) return <Loading />
  if (plans.error) return <ErrorNote error={plans.error} />
  const rows = (plans.data?.managers ?? []).filter((row) => row.revenue_won.target)
  if (!rows.length) return <p className="muted">{t('noPlans')}</p>
  const show = (value: Money | null) => (value ? money(value.amount, value.currency) : '—')
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={t('plan')}>
      <table>
        <thead><tr>{[t('owner'), t('planTarget'), t('planActual'), t('attainment'), t('runRate'), t('dealsToGo')]
          .map((head) => <th key={head} scope="col">{head}</th>)}</tr></thead>
        <tbody>{rows.map((row) => {
          const pct = row.revenue_won.attainment_pct
          return (
            <tr key={row.manager_id}>
              <td>{row.name ?? row.manager_id}</td>
              <td>{show(row.revenue_won.target)}</td>
              <td>{show(row.revenue_won.actual)}</td>
              <td><meter min={0} max={100} value={Math.min(pct ?? 0, 100)} aria-label={`${t('attainment')} ${row.name ?? ''}`} />{' '}
                {pct === null ? '—' : `${Math.round(pct)}%`}</td>
              <td>{show(row.revenue_won.run_rate)}</td>
              <td>{row.gap.deals ?? '—'}</td>
            </tr>
          )
        })}</tbody>
      </table>
    </div>
  )
}
