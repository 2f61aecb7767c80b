// A figure's change against the compared period (the `comparison` of a KPI answer, docs/kpi.md): an arrow and the
// change in %, green when it went the good way. A ratio changes in percentage points (a % of a % misleads).
// It is a second <dd> of a tile's <dt> (a definition list holds only dt and dd).
import { useI18n } from '../i18n'

export interface FigureChange { value: number | null; previous: number | null; change: number | null; change_pct: number | null }

export function changeText(figure: FigureChange, ratio = false): string {
  const { change, change_pct: pct } = figure
  if (change == null) return '—'
  const sign = change > 0 ? '+' : change < 0 ? '−' : '±'
  if (ratio) return `${sign}${Math.abs(Math.round(change * 100))} pp`
  return pct == null ? `${sign}${Math.abs(change)}` : `${sign}${Math.abs(pct)}%`
}

export function Change({ figure, period, ratio = false, upIsGood = true, format }: {
  figure: FigureChange | undefined; period: { from: string; to: string } | undefined; ratio?: boolean
  upIsGood?: boolean; format?: (value: number) => string
}) {
  const { t, date } = useI18n()
  if (!figure || !period) return null
  const direction = figure.change == null || figure.change === 0 ? 'same' : figure.change > 0 ? 'up' : 'down'
  const good = direction === 'same' ? '' : (direction === 'up') === upIsGood ? ' good' : ' bad'
  const previous = figure.previous == null ? '—'
    : ratio ? `${Math.round(figure.previous * 100)}%` : format ? format(figure.previous) : String(figure.previous)
  const label = t('comparedWith', { from: date(period.from), to: date(period.to), previous })
  const word = t(direction === 'up' ? 'changeUp' : direction === 'down' ? 'changeDown' : 'changeNone')
  return (
    <dd className={`change ${direction}${good}`} title={label} data-testid="change">
      <span aria-hidden="true">{direction === 'up' ? '▲' : direction === 'down' ? '▼' : '='} {changeText(figure, ratio)}</span>
      <span className="visually-hidden">{`${word} ${changeText(figure, ratio)}; ${label}`}</span>
    </dd>
  )
}
