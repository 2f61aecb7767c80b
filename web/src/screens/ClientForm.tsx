// Create or edit a client; the server's validation messages are shown at their fields.
import { useState } from 'react'
import { api } from '../api/http'
import { Field, FormMessage, useSubmit } from '../components/form'
import type { Client } from '../api/types'
import { useI18n, type Key } from '../i18n'

const FIELDS: { name: string; label: Key; type?: string }[] = [
  { name: 'name', label: 'name' }, { name: 'tax_id', label: 'taxId' }, { name: 'email', label: 'email', type: 'email' },
  { name: 'phone', label: 'phone', type: 'tel' }, { name: 'industry', label: 'industry' }, { name: 'region', label: 'region' },
  { name: 'address', label: 'address' },
]

export function ClientForm({ client, onSaved }: { client?: Client; onSaved: (client: Client) => void }) {
  const { t } = useI18n()
  const [values, setValues] = useState<Record<string, string>>(() => {
    const start: Record<string, string> = { kind: client?.kind ?? 'company' }
    for (const field of FIELDS) start[field.name] = String((client as unknown as Record<string, unknown>)?.[field.name] ?? '')
    return start
  })
  const submit = useSubmit()
  const save = (event: React.FormEvent) => {
    event.preventDefault()
    const body: Record<string, string | null> = {}
    for (const [name, value] of Object.entries(values)) {
      if (value !== '' || client) body[name] = value === '' ? null : value
    }
    if (client) delete body.kind
    let saved: Client
    void submit.run(async () => {
      saved = client ? await api.patch<Client>(`/clients/${client.id}`, body) : await api.post<Client>('/clients', body)
    }).then((ok) => { if (ok) onSaved(saved) })
  }
  return (
    <form className="panel form" onSubmit={save} noValidate aria-label={client ? t('edit') : t('newClient')}>
      {!client && (
        <label>{t('kind')}<select value={values.kind} onChange={(e) => setValues({ ...values, kind: e.target.value })}>
          <option value="company">{t('company')}</option><option value="person">{t('person')}</option></select></label>
      )}
      {FIELDS.map((field) => (
        <Field key={field.name} id={`client-${field.name}`} label={t(field.label)} errors={submit.errors[field.name]}>
          {(props) => <input {...props} name={field.name} type={field.type ?? 'text'} value={values[field.name]}
            onChange={(e) => setValues({ ...values, [field.name]: e.target.value })} />}
        </Field>
      ))}
      <FormMessage message={submit.message} />
      <button type="submit">{t('save')}</button>
    </form>
  )
}
