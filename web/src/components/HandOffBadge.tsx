import type { DealHandOff } from '../api/types'
import { useI18n } from '../i18n'

/** The hand-off of a deal's stay in its stage, on the board and deal cards: whose it is and how far it got
 * (an overdue one stands out). */
export function HandOffBadge({ handOff }: { handOff: DealHandOff }) {
  const { t, date } = useI18n()
  const text = t('handOffBadge', { role: t(`role_${handOff.role}`), state: t(`handOff_${handOff.state}`) })
  return (
    <span className={`badge hand-off hand-off-${handOff.state}${handOff.overdue ? ' overdue' : ''}`}
      title={handOff.due_at ? t('dueBy', { date: date(handOff.due_at, true) }) : undefined}>
      {t('handOff')} · {text}{handOff.overdue ? ` · ${t('overdue')}` : ''}</span>
  )
}
