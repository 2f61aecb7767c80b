// Create or edit a client; the server's validation messages are shown at their fields.
import { useState } from 'react'
import { api, ApiError } from '../api/http'
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
  const [errors, setErrors] = useState<Record<string, string[]>>({})
  const [message, setMessage] = useState<string | null>(null)
  const submit = async (event: React.FormEvent) => {
    event.preventDefault()
    const body: Record<string, string | null> = {}
    for (const [name, value] of Object.entries(values)) {
      if (value !== '' || client) body[name] = value === '' ? null : value
    }
    if (client) delete body.kind
    try {
      const saved = client ? await api.patch<Client>(`/clients/${client.id}`, body) : await api.post<Client>('/clients', body)
      setErrors({}); setMessage(null); onSaved(saved)
    } catch (err) {
      if (err instanceof ApiError) { setErrors(err.fieldErrors); setMessage(err.message) } else setMessage(String(err))
    }
  }
  return (
    <form className="panel form" onSubmit={submit} noValidate aria-label={client ? t('edit') : t('newClient')}>
      {!client && (
        <label>{t('kind')}<select value={values.kind} onChange={(e) => setValues({ ...values, kind: e.target.value })}>
          <option value="company">{t('company')}</option><option value="person">{t('person')}</option></select></label>
      )}
      {FIELDS.map((field) => {
        const id = `client-${field.name}`
        const fieldErrors = errors[field.name]
        return (
          <div key={field.name} className="field">
            <label htmlFor={id}>{t(field.label)}</label>
            <input id={id} name={field.name} type={field.type ?? 'text'} value={values[field.name]}
              aria-invalid={!!fieldErrors} aria-describedby={fieldErrors ? `${id}-error` : undefined}
              onChange={(e) => setValues({ ...values, [field.name]: e.target.value })} />
            {fieldErrors && <p id={`${id}-error`} className="field-error">{fieldErrors.join(' ')}</p>}
          </div>
        )
      })}
      {message && <p role="alert" className="error">{message}</p>}
      <button type="submit">{t('save')}</button>
    </form>
  )
}
