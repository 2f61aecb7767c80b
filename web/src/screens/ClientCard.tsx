// The client card: the gateway's overview (card, contacts, open deals, invoices, receivables) plus the
// timeline, activities, surveys and service cases, each its own request so one slow part does not block.
import { useState } from 'react'
import { Link, useParams } from 'react-router-dom'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { api, query } from '../api/http'
import type { Activity, ChangeEntry, Client, Contact, Deal, Page } from '../api/types'
import { ErrorNote, Loading, Section } from '../components/ui'
import { useI18n } from '../i18n'
import { ActivityRow } from './MyDay'
import { ClientForm } from './ClientForm'
import { Contacts } from '../components/Contacts'
import { ChangeHistory } from '../components/ChangeHistory'
import { useAuth } from '../auth'
import { writesClients } from '../roles'

interface Part<T> { data: T | null; partial?: boolean; error?: string }
interface Overview {
  client: Part<Client> | Client; contacts: Part<Page<Contact>> | Page<Contact>; open_deals: Part<Page<Deal>> | Page<Deal>
  invoices: Part<Page<{ id: string; number: string | null; status: string; total?: { amount: string; currency: string } }>>
  receivables: Part<Record<string, unknown>>
}

function unwrap<T>(part: Part<T> | T | undefined): T | null {
  if (part && typeof part === 'object' && 'partial' in (part as object)) return (part as Part<T>).data
  return (part as T) ?? null
}

export function ClientCard() {
  const { clientId = '' } = useParams()
  const { t, date, money } = useI18n()
  const [editing, setEditing] = useState(false)
  const queryClient = useQueryClient()
  const { me } = useAuth()
  const overview = useQuery({ queryKey: ['client', clientId], queryFn: () => api.get<Overview>(`/clients/${clientId}/overview`) })
  const timeline = useQuery({ queryKey: ['client', clientId, 'timeline'],
    queryFn: () => api.get<Page<{ id: string; at: string; kind: string; summary: string }>>(`/clients/${clientId}/timeline?limit=50`) })
  const activities = useQuery({ queryKey: ['client', clientId, 'activities'],
    queryFn: () => api.get<Page<Activity>>('/activities' + query({ client_id: clientId, limit: 50, sort: '-due_at' })) })
  const surveys = useQuery({ queryKey: ['client', clientId, 'surveys'],
    queryFn: () => api.get<Page<{ id: string; kind: string; score: number; surveyed_on: string; comment: string | null }>>(`/surveys?client_id=${clientId}`) })
  // Every deal of the client, closed ones too (the overview has the open ones: the fallback for a role that
  // may not list deals).
  const allDeals = useQuery({ queryKey: ['client', clientId, 'deals'], retry: false,
    queryFn: () => api.get<Page<Deal>>('/deals' + query({ client_id: clientId, limit: 100, sort: '-updated_at' })) })
  const cases = useQuery({ queryKey: ['client', clientId, 'cases'],
    queryFn: () => api.get<Page<{ id: string; subject: string; status: string; priority: string }>>(`/service-cases?client_id=${clientId}`) })
  if (overview.isLoading) return <Loading />
  if (overview.error) return <ErrorNote error={overview.error} />
  const client = unwrap(overview.data?.client)
  const contacts = unwrap(overview.data?.contacts)?.items ?? []
  const deals = allDeals.data?.items ?? unwrap(overview.data?.open_deals)?.items ?? []
  const invoices = unwrap(overview.data?.invoices)?.items ?? []
  if (!client) return <p>{t('notFound')}</p>
  return (
    <div className="client-card">
      <h1>{client.name}</h1>
      <p className="muted">{[client.tax_id, client.industry, client.region, client.rating, client.email, client.phone].filter(Boolean).join(' · ')}</p>
      <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>{t('edit')}</button>
      {editing && <ClientForm client={client} onSaved={() => { setEditing(false); void queryClient.invalidateQueries({ queryKey: ['client', clientId] }) }} />}
      <div className="grid">
        <Section title={t('contacts')}>
          <Contacts clientId={clientId} contacts={contacts} canWrite={writesClients(me?.role)}
            onChanged={() => void queryClient.invalidateQueries({ queryKey: ['client', clientId] })} />
        </Section>
        <Section title={t('deals')}>
          <ul className="rows">{deals.map((d) => <li key={d.id}><Link to={`/deals/${d.id}`}>{d.title}</Link> · {d.status === 'open' ? d.stage_name : t(d.status)} · {money(d.amount.amount, d.amount.currency)}</li>)}
            {deals.length === 0 && <li>{t('nothing')}</li>}</ul>
        </Section>
        <Section title={t('activities')}>
          <ul className="rows">{activities.data?.items.map((a) => <ActivityRow key={a.id} activity={a} />)}</ul>
        </Section>
        <Section title={t('timeline')}>
          <ul className="rows">{timeline.data?.items.map((e) => <li key={e.id}>{date(e.at, true)} · {e.summary}</li>)}</ul>
        </Section>
        <Section title={t('changeHistory')}>
          <ChangeHistory queryKey={['client', clientId, 'changes']} viewerId={me?.id}
            load={(cursor) => api.get<Page<ChangeEntry>>(`/clients/${clientId}/history${query({ limit: 20, cursor })}`)} />
        </Section>
        <Section title={t('surveys')}>
          <ul className="rows">{surveys.data?.items.map((s) => <li key={s.id}>{date(s.surveyed_on)} · {s.kind} {s.score} {s.comment ?? ''}</li>)}
            {surveys.data?.items.length === 0 && <li>{t('nothing')}</li>}</ul>
        </Section>
        <Section title={t('serviceCases')}>
          <ul className="rows">{cases.data?.items.map((c) => <li key={c.id}>{c.subject} · {c.status} · {c.priority}</li>)}
            {cases.data?.items.length === 0 && <li>{t('nothing')}</li>}</ul>
        </Section>
        <Section title={t('invoices')}>
          <ul className="rows">{invoices.map((i) => <li key={i.id}>{i.number ?? '—'} · {i.status} {i.total ? money(i.total.amount, i.total.currency) : ''}</li>)}
            {invoices.length === 0 && <li>{t('nothing')}</li>}</ul>
        </Section>
      </div>
    </div>
  )
}
