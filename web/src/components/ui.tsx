import type { ReactNode } from 'react'
import { ApiError } from '../api/http'
import { useI18n } from '../i18n'

export function Loading() {
  const { t } = useI18n()
  return <p role="status">{t('loading')}</p>
}

export function ErrorNote({ error }: { error: unknown }) {
  const { t } = useI18n()
  if (!error) return null
  const message = error instanceof ApiError ? error.message : String(error)
  return <p role="alert" className="error">{t('error', { message })}</p>
}

export function Section({ title, children }: { title: string; children: ReactNode }) {
  return <section className="panel"><h2>{title}</h2>{children}</section>
}

export function MoneyList({ amounts }: { amounts: { amount: string; currency: string }[] }) {
  const { money } = useI18n()
  if (!amounts.length) return <span>—</span>
  return <span>{amounts.map((m) => money(m.amount, m.currency)).join(' + ')}</span>
}

export function daysSince(iso: string, now: number = Date.now()): number {
  return Math.max(0, Math.floor((now - new Date(iso).getTime()) / 86_400_000))
}
