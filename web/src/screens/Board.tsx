// The pipeline board: a column per active stage (count and sums from /board), the open deals as cards;
// drag a card (or pick a stage from its menu) to move it. The move shows at once and is undone, with a
// message, when the server refuses it (409: not allowed now, 412: the deal changed meanwhile).
import { memo, useCallback, useMemo, useRef, useState } from 'react'
import { Link } from 'react-router-dom'
import { DndContext, KeyboardSensor, PointerSensor, pointerWithin, rectIntersection, useDraggable, useDroppable, useSensor,
  useSensors, type CollisionDetection, type DragEndEvent } from '@dnd-kit/core'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { dealsApi } from '../api/deals'
import { api } from '../api/http'
import type { BoardColumn, Deal, Page, Stage, User } from '../api/types'
import { useAuth } from '../auth'
import { CloseDeal } from '../components/CloseDeal'
import { ExportButtons } from '../components/ExportButtons'
import { HandOffBadge } from '../components/HandOffBadge'
import { daysSince, ErrorNote, Loading, MoneyList } from '../components/ui'
import { useI18n } from '../i18n'
import { seesTeam } from '../roles'
import { usePollInterval } from '../live'

const POLL_MS = 5000

// The column under the pointer; the keyboard (no pointer) falls back to the column the card overlaps most.
const dropTarget: CollisionDetection = (args) => {
  const hits = pointerWithin(args)
  return hits.length ? hits : rectIntersection(args)
}

export function moveLocally(deals: Deal[], dealId: string, stage: Stage): Deal[] {
  return deals.map((deal) => deal.id === dealId
    ? { ...deal, stage_id: stage.id, stage_name: stage.name, stage_entered_at: new Date().toISOString() } : deal)
}

export function BoardScreen() {
  const { t } = useI18n()
  const { me } = useAuth()
  const [pipelineId, setPipelineId] = useState<string>('')
  const [ownerId, setOwnerId] = useState<string>('')
  const [search, setSearch] = useState('')
  const [notice, setNotice] = useState<{ text: string; bad: boolean } | null>(null)
  const pipelines = useQuery({ queryKey: ['pipelines'], queryFn: dealsApi.pipelines })
  const pipeline = pipelines.data?.items.find((p) => p.id === pipelineId)
    ?? pipelines.data?.items.find((p) => p.is_default) ?? pipelines.data?.items[0]
  const owners = useQuery({ queryKey: ['users', 'managers'], enabled: seesTeam(me?.role),
    queryFn: () => api.get<Page<User>>('/users?role=manager&limit=200') })
  const owner = ownerId || undefined
  const pollMs = usePollInterval(POLL_MS)
  const board = useQuery({ queryKey: ['board', pipeline?.id, owner], enabled: !!pipeline,
    queryFn: () => dealsApi.board(pipeline!.id, owner), refetchInterval: pollMs })
  const dealsKey = ['board-deals', pipeline?.id, owner, search]
  const stageIds = (pipeline?.stages ?? []).filter((s) => s.is_active).map((s) => s.id)
  const deals = useQuery({ queryKey: dealsKey, enabled: !!pipeline,
    queryFn: () => dealsApi.openDeals(pipeline!.id, stageIds, owner, search), refetchInterval: pollMs })
  const queryClient = useQueryClient()
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 6 } }), useSensor(KeyboardSensor))

  const move = useMutation({
    mutationFn: ({ deal, stage }: { deal: Deal; stage: Stage }) => dealsApi.move(deal, stage.id),
    onMutate: async ({ deal, stage }) => {
      await queryClient.cancelQueries({ queryKey: dealsKey })
      const before = queryClient.getQueryData<Deal[]>(dealsKey)
      queryClient.setQueryData<Deal[]>(dealsKey, (list) => moveLocally(list ?? [], deal.id, stage))
      return { before }
    },
    onError: (error: Error, _vars, context) => {
      queryClient.setQueryData(dealsKey, context?.before)
      setNotice({ text: t('moveFailed', { message: error.message }), bad: true })
    },
    onSuccess: (saved, { stage }) => {
      queryClient.setQueryData<Deal[]>(dealsKey, (list) => (list ?? []).map((d) => d.id === saved.id ? saved : d))
      setNotice({ text: t('moved', { stage: stage.name }), bad: false })
    },
    onSettled: () => { void queryClient.invalidateQueries({ queryKey: ['board'] }) },
  })

  const columns: BoardColumn[] = board.data?.columns ?? []
  const byStage = useMemo(() => {
    const grouped = new Map<string, Deal[]>()
    for (const deal of deals.data ?? []) grouped.set(deal.stage_id, [...(grouped.get(deal.stage_id) ?? []), deal])
    return grouped
  }, [deals.data])

  const requestMove = (deal: Deal, stageId: string) => {
    const stage = columns.find((c) => c.stage.id === stageId)?.stage
    if (stage && stage.id !== deal.stage_id) move.mutate({ deal, stage })
  }
  const onDragEnd = (event: DragEndEvent) => {
    const deal = (deals.data ?? []).find((d) => d.id === event.active.id)
    if (deal && event.over) requestMove(deal, String(event.over.id))
  }
  const closed = (saved: Deal) => {
    queryClient.setQueryData<Deal[]>(dealsKey, (list) => (list ?? []).filter((d) => d.id !== saved.id))
    setNotice({ text: `${saved.title}: ${t(saved.status === 'won' ? 'won' : 'lost')}`, bad: false })
    void queryClient.invalidateQueries({ queryKey: ['board'] })
  }

  // Stable handlers and stage list, so the memoised cards are not all redrawn on every poll.
  const latest = useRef({ requestMove, closed })
  latest.current = { requestMove, closed }
  const onMove = useCallback((deal: Deal, stageId: string) => latest.current.requestMove(deal, stageId), [])
  const onClosed = useCallback((deal: Deal) => latest.current.closed(deal), [])
  const stages = useMemo(() => columns.map((c) => c.stage), [columns])

  return (
    <div className="board-screen">
      <h1>{t('board')}</h1>
      <div className="filters" role="search">
        <label>{t('pipeline')}
          <select value={pipeline?.id ?? ''} onChange={(e) => setPipelineId(e.target.value)}>
            {pipelines.data?.items.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
          </select>
        </label>
        {seesTeam(me?.role) && (
          <label>{t('owner')}
            <select value={ownerId} onChange={(e) => setOwnerId(e.target.value)}>
              <option value="">{t('everyone')}</option>
              {owners.data?.items.map((u) => <option key={u.id} value={u.id}>{u.full_name}</option>)}
            </select>
          </label>
        )}
        <label>{t('search')}<input type="search" value={search} onChange={(e) => setSearch(e.target.value)} /></label>
        {/* The deals on the board (open, this pipeline, owner and search) as a file. */}
        <ExportButtons role={me?.role} path="/deals/export" name="deals"
          params={{ pipeline_id: pipeline?.id, owner_id: owner, q: search || undefined, status: 'open' }} />
      </div>
      <div aria-live="polite" className={notice?.bad ? 'notice bad' : 'notice'}>{notice?.text}</div>
      <ErrorNote error={pipelines.error ?? board.error ?? deals.error} />
      {(board.isLoading || deals.isLoading) && <Loading />}
      <DndContext sensors={sensors} collisionDetection={dropTarget} onDragEnd={onDragEnd}>
        <div className="board" data-testid="board">
          {columns.map((column) => (
            <Column key={column.stage.id} column={column} deals={byStage.get(column.stage.id) ?? []}
              stages={stages} onMove={onMove} onClosed={onClosed} />
          ))}
        </div>
      </DndContext>
    </div>
  )
}

function Column({ column, deals, stages, onMove, onClosed }: {
  column: BoardColumn; deals: Deal[]; stages: Stage[]
  onMove: (deal: Deal, stageId: string) => void; onClosed: (deal: Deal) => void
}) {
  const { t } = useI18n()
  const { setNodeRef, isOver } = useDroppable({ id: column.stage.id })
  const headingId = `stage-${column.stage.id}`
  return (
    <section ref={setNodeRef} className={isOver ? 'column over' : 'column'} aria-labelledby={headingId}
      data-stage={column.stage.name}>
      <header>
        <h2 id={headingId}>{column.stage.name}</h2>
        <p className="column-totals">
          <span className="count">{t('dealsOnBoard', { count: column.count })}</span> · <MoneyList amounts={column.amounts} />
          {column.stalled > 0 && <span className="stalled-count"> · {column.stalled} {t('stalled')}</span>}
          {!!column.hand_offs && <span className="hand-off-count"> · {t('handOffsWaiting', { count: column.hand_offs })}</span>}
        </p>
      </header>
      <ul className="cards">
        {deals.map((deal) => <Card key={deal.id} deal={deal} stages={stages} onMove={onMove} onClosed={onClosed} />)}
      </ul>
    </section>
  )
}

// Memoised: a poll or a move redraws only the cards whose deal changed.
const Card = memo(function Card({ deal, stages, onMove, onClosed }: {
  deal: Deal; stages: Stage[]; onMove: (deal: Deal, stageId: string) => void; onClosed: (deal: Deal) => void
}) {
  const { t, money } = useI18n()
  const [open, setOpen] = useState(false)
  const [moving, setMoving] = useState(false)
  const { attributes, listeners, setNodeRef, transform, isDragging } = useDraggable({ id: deal.id })
  // CSSOM style properties (not a style attribute in markup): allowed by the gateway's CSP.
  const style = transform ? { transform: `translate(${transform.x}px, ${transform.y}px)` } : undefined
  return (
    <li ref={setNodeRef} style={style} className={`card${deal.stalled ? ' stalled' : ''}${isDragging ? ' dragging' : ''}`}
      data-deal={deal.title}>
      <div className="card-body">
        <button type="button" className="card-grip" {...listeners} {...attributes}
          aria-label={t('dragDeal', { title: deal.title })}><span aria-hidden="true">⠿</span></button>
        <Link to={`/deals/${deal.id}`} className="card-title">{deal.title}</Link>
        <span className="card-client">{deal.client_name}</span>
        <span className="card-amount">{money(deal.amount.amount, deal.amount.currency)}</span>
        <span className="card-days">{t('daysInStage', { days: daysSince(deal.stage_entered_at) })}
          {deal.stalled && <strong className="badge"> {t('stalled')}</strong>}</span>
        {deal.hand_off && <HandOffBadge handOff={deal.hand_off} />}
      </div>
      <div className="card-actions">
        {/* The stage list only when asked for: 500 cards need not each carry a <select>. */}
        {moving ? (
          <>
            <label className="visually-hidden" htmlFor={`move-${deal.id}`}>{t('moveTo')}</label>
            <select id={`move-${deal.id}`} value={deal.stage_id} autoFocus onBlur={() => setMoving(false)}
              onChange={(e) => { setMoving(false); onMove(deal, e.target.value) }}>
              {stages.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
            </select>
          </>
        ) : (
          <button type="button" onClick={() => setMoving(true)}>{t('moveTo')}…</button>
        )}
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>{t('win')} / {t('lose')}</button>
      </div>
      {open && <CloseDeal deal={deal} onDone={onClosed} />}
    </li>
  )
})
