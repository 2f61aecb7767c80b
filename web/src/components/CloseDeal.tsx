// Win or lose a deal in one small form: losing needs a reason from the list (and a comment).
import { useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { dealsApi } from '../api/deals'
import type { Deal } from '../api/types'
import { useI18n } from '../i18n'
import { ErrorNote } from './ui'

export function CloseDeal({ deal, onDone }: { deal: Deal; onDone: (deal: Deal) => void }) {
  const { t } = useI18n()
  const [losing, setLosing] = useState(false)
  const [reasonId, setReasonId] = useState('')
  const [comment, setComment] = useState('')
  const [error, setError] = useState<unknown>(null)
  const reasons = useQuery({ queryKey: ['lost-reasons'], queryFn: dealsApi.lostReasons, enabled: losing })
  const run = (action: Promise<Deal>) => action.then(onDone, setError)

  if (deal.status !== 'open') {
    return <button type="button" onClick={() => run(dealsApi.reopen(deal))}>{t('reopen')}</button>
  }
  return (
    <div className="close-deal">
      <button type="button" className="win" onClick={() => run(dealsApi.win(deal))}>{t('win')}</button>
      {!losing && <button type="button" className="lose" onClick={() => setLosing(true)}>{t('lose')}</button>}
      {losing && (
        <form onSubmit={(e) => { e.preventDefault(); void run(dealsApi.lose(deal, reasonId, comment)) }}>
          <label>{t('reason')}
            <select required value={reasonId} onChange={(e) => setReasonId(e.target.value)}>
              <option value="">—</option>
              {reasons.data?.items.map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}
            </select>
          </label>
          <label>{t('comment')}<input value={comment} onChange={(e) => setComment(e.target.value)} /></label>
          <button type="submit">{t('lose')}</button>
          <button type="button" onClick={() => setLosing(false)}>{t('cancel')}</button>
        </form>
      )}
      <ErrorNote error={error} />
    </div>
  )
}
