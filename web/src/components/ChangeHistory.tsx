// Who changed which field of a record, from what to what, and when: the services' change history, newest
// first, a page at a time ("load more" follows the cursor).
import { useInfiniteQuery } from '@tanstack/react-query'
import type { ChangeEntry, FieldChange, Page } from '../api/types'
import { useI18n, type Key } from '../i18n'

// The history's field names, as the forms call them.
const FIELD_LABELS: Record<string, Key> = {
  title: 'title', amount: 'amount', currency: 'currency', stage: 'stage', status: 'status', owner_id: 'owner',
  expected_close_on: 'expectedClose', campaign_id: 'campaign', closed_at: 'closedAt', lost_reason: 'reason',
  lost_comment: 'comment', name: 'name', kind: 'kind', tax_id: 'taxId', industry: 'industry', region: 'region',
  address: 'address', phone: 'phone', email: 'email', website: 'website', source_channel: 'sourceChannel',
  rating: 'rating', notes: 'notes', archived_at: 'archivedAt', full_name: 'name', position: 'position',
  is_primary: 'primaryContact',
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DAY = /^\d{4}-\d{2}-\d{2}$/
const INSTANT = /^\d{4}-\d{2}-\d{2}T/

export function ChangeHistory({ queryKey, load, viewerId }: {
  queryKey: readonly unknown[]; load: (cursor?: string) => Promise<Page<ChangeEntry>>; viewerId?: string
}) {
  const { t, date } = useI18n()
  const pages = useInfiniteQuery({
    queryKey, queryFn: ({ pageParam }) => load(pageParam), initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  const entries = pages.data?.pages.flatMap((page) => page.items) ?? []

  const who = (actor: string | null) => actor === null ? t('actorSystem') : actor === viewerId ? t('actorYou') : actor.slice(0, 8)
  const shown = (value: unknown): string => {
    if (value === null || value === undefined || value === '') return '—'
    if (typeof value === 'boolean') return t(value ? 'yes' : 'no')
    if (typeof value !== 'string') return String(value)
    if (UUID.test(value)) return value.slice(0, 8)
    if (DAY.test(value)) return date(value)
    if (INSTANT.test(value)) return date(value, true)
    return value
  }
  const label = (change: FieldChange) => FIELD_LABELS[change.field] ? t(FIELD_LABELS[change.field]) : change.field
  const what = (entry: ChangeEntry) => {
    const parts = entry.record_type === 'contact' ? [t('contactRecord')] : []
    if (entry.action !== 'updated') parts.push(t(entry.action === 'created' ? 'recordCreated' : 'recordDeleted'))
    return parts.length ? `${parts.join(' · ')}: ` : ''
  }

  return (
    <>
      <ul className="rows">
        {entries.map((entry) => (
          <li key={`${entry.at}-${entry.record_id}-${entry.action}-${entry.changes.map((c) => c.field).join()}`}>
            {date(entry.at, true)} · {who(entry.actor_id)} · {what(entry)}
            {entry.changes.map((change, index) => (
              <span key={change.field}>{index > 0 && '; '}{label(change)}: {entry.action === 'updated'
                ? `${shown(change.old)} → ${shown(change.new)}` : shown(entry.action === 'created' ? change.new : change.old)}</span>
            ))}
          </li>))}
        {pages.isSuccess && entries.length === 0 && <li>{t('nothing')}</li>}
      </ul>
      {pages.hasNextPage && (
        <button type="button" onClick={() => void pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>{t('loadMore')}</button>)}
    </>
  )
}
