// Sales plans and commission schemes (the deals service): the shapes and the pure helpers the screens use.
import type { Money, Page } from './types'

export interface Targets { revenue_won: Money | null; revenue_paid: Money | null; deals_won: number | null; activities: Record<string, number> }
export interface SalesPlan {
  id: string; period: string; period_kind: 'month' | 'quarter'; manager_id: string | null; team_id: string | null
  mode: 'own' | 'sum'; targets: Targets; version: number
}
export interface Tier { from_pct: string; to_pct: string | null; rate_pct: string }
export interface SchemeVersion {
  version: number; valid_from: string; base: 'revenue_paid' | 'revenue_won'; tiers: Tier[]
  deal_bonus: { amount: Money; min_deal_amount: Money } | null; manager_ids: string[]; team_ids: string[]
}
export interface CommissionScheme { id: string; name: string; versions: SchemeVersion[]; revision: number }

/** A page of plans names the company currency (BASE_CURRENCY), the one money targets are set in. */
export interface SalesPlanPage extends Page<SalesPlan> { currency: string }

/** The form's values of a manager's month plan: money amounts and a count, as typed ('' = not planned). */
export interface PlanValues { revenue_won: string; revenue_paid: string; deals_won: string }

export function planValues(plan: SalesPlan | undefined): PlanValues {
  return { revenue_won: plan?.targets.revenue_won?.amount ?? '', revenue_paid: plan?.targets.revenue_paid?.amount ?? '',
    deals_won: plan?.targets.deals_won != null ? String(plan.targets.deals_won) : '' }
}

const amount = (text: string) => text.trim().replace(/\s/g, '').replace(',', '.')

/** The targets to send: each measure typed, or null (an empty field drops it from the plan). */
export function planTargets(values: PlanValues, currency: string): Omit<Targets, 'activities'> {
  const money = (text: string) => (amount(text) ? { amount: amount(text), currency } : null)
  return { revenue_won: money(values.revenue_won), revenue_paid: money(values.revenue_paid),
    deals_won: values.deals_won.trim() ? Number(values.deals_won) : null }
}

/** "2026-03" for a day in March 2026 (UTC): the month the plans screen opens on. */
export function monthOf(day: Date): string {
  return `${day.getUTCFullYear()}-${String(day.getUTCMonth() + 1).padStart(2, '0')}`
}

/** Tiers as typed (an empty "to" is the open end) in the shape the service takes. */
export function tiersToSend(rows: { from_pct: string; to_pct: string; rate_pct: string }[]): Tier[] {
  return rows.map((row) => ({ from_pct: amount(row.from_pct), to_pct: amount(row.to_pct) || null, rate_pct: amount(row.rate_pct) }))
}

/** The rows after adding a tier: the open last one is closed 20 points after it starts, and a new open one
 * starts there (both editable). */
export function withTier(rows: { from_pct: string; to_pct: string; rate_pct: string }[]) {
  const last = rows[rows.length - 1]
  const at = String(Number(amount(last.from_pct) || '0') + 20)
  return [...rows.slice(0, -1), { ...last, to_pct: at }, { from_pct: at, to_pct: '', rate_pct: last.rate_pct }]
}
