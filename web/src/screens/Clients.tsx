// The clients list: search and filters, infinite scroll on the cursor API; a form for a new client.
import { useEffect, useRef, useState } from 'react'
import { Link } from 'react-router-dom'
import { useInfiniteQuery } from '@tanstack/react-query'
import { api, query } from '../api/http'
import type { Client, Page } from '../api/types'
import { ErrorNote, Loading } from '../components/ui'
import { useI18n } from '../i18n'
import { ClientForm } from './ClientForm'

export function ClientsList() {
  const { t } = useI18n()
  const [q, setQ] = useState('')
  const [rating, setRating] = useState('')
  const [status, setStatus] = useState('')
  const [creating, setCreating] = useState(false)
  const list = useInfiniteQuery({
    queryKey: ['clients', q, rating, status],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => api.get<Page<Client>>('/clients' + query({ q, rating, status, limit: 50, cursor: pageParam })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  const sentinel = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const node = sentinel.current
    if (!node || typeof IntersectionObserver === 'undefined') return
    const observer = new IntersectionObserver((entries) => {
      if (entries[0]?.isIntersecting && list.hasNextPage && !list.isFetchingNextPage) void list.fetchNextPage()
    })
    observer.observe(node)
    return () => observer.disconnect()
  }, [list])
  const clients = list.data?.pages.flatMap((page) => page.items) ?? []
  return (
    <div>
      <h1>{t('clients')}</h1>
      <div className="filters" role="search">
        <label>{t('search')}<input type="search" value={q} onChange={(e) => setQ(e.target.value)} /></label>
        <label>{t('rating')}<select value={rating} onChange={(e) => setRating(e.target.value)}>
          <option value="">{t('all')}</option>{['A', 'B', 'C', 'D'].map((r) => <option key={r}>{r}</option>)}</select></label>
        <label>{t('status')}<select value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">{t('all')}</option>{['prospect', 'active', 'former'].map((s) => <option key={s}>{s}</option>)}</select></label>
        <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>{t('newClient')}</button>
      </div>
      {creating && <ClientForm onSaved={() => { setCreating(false); void list.refetch() }} />}
      <ErrorNote error={list.error} />
      {list.isLoading && <Loading />}
      <p className="muted">{list.data?.pages[0]?.total ?? ''}</p>
      <ul className="rows client-list">
        {clients.map((c) => (
          <li key={c.id}><Link to={`/clients/${c.id}`}>{c.name}</Link>
            <span className="muted"> · {c.industry ?? ''} {c.region ?? ''} {c.rating ?? ''}</span></li>
        ))}
        {!list.isLoading && clients.length === 0 && <li>{t('nothing')}</li>}
      </ul>
      <div ref={sentinel} />
      {list.hasNextPage && (
        <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>{t('loadMore')}</button>
      )}
    </div>
  )
}
