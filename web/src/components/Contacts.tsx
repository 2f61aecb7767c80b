// A client's contacts: add, edit and remove them (the roles that write clients; the others only read).
import { useState } from 'react'
import { api } from '../api/http'
import type { Contact } from '../api/types'
import { useI18n, type Key } from '../i18n'
import { Field, FormMessage, useSubmit } from './form'

const FIELDS: { name: keyof Contact & string; label: Key; type?: string }[] = [
  { name: 'full_name', label: 'name' }, { name: 'position', label: 'position' },
  { name: 'email', label: 'email', type: 'email' }, { name: 'phone', label: 'phone', type: 'tel' },
]

/** The body of a create (empty fields left out) or of an edit (an emptied field becomes null). */
export function contactBody(values: Record<string, string>, editing: boolean): Record<string, string | null> {
  const body: Record<string, string | null> = {}
  for (const { name } of FIELDS) {
    const value = (values[name] ?? '').trim()
    if (value) body[name] = value
    else if (editing && name !== 'full_name') body[name] = null
  }
  return body
}

function ContactForm({ clientId, contact, onDone }: { clientId: string; contact?: Contact; onDone: () => void }) {
  const { t } = useI18n()
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(FIELDS.map(({ name }) => [name, String(contact?.[name] ?? '')])))
  const submit = useSubmit()
  const prefix = `contact-${contact?.id ?? 'new'}`
  const save = async (event: React.FormEvent) => {
    event.preventDefault()
    const body = contactBody(values, !!contact)
    const ok = await submit.run(() => contact ? api.patch(`/contacts/${contact.id}`, body)
      : api.post(`/clients/${clientId}/contacts`, body))
    if (ok) onDone()
  }
  return (
    <form className="form" onSubmit={(e) => void save(e)} noValidate aria-label={contact ? t('editContact') : t('addContact')}>
      {FIELDS.map((field) => (
        <Field key={field.name} id={`${prefix}-${field.name}`} label={t(field.label)} errors={submit.errors[field.name]}>
          {(props) => <input {...props} type={field.type ?? 'text'} value={values[field.name]}
            onChange={(e) => setValues({ ...values, [field.name]: e.target.value })} />}
        </Field>
      ))}
      <FormMessage message={submit.message} />
      <button type="submit" disabled={submit.busy}>{t('save')}</button>
    </form>
  )
}

export function Contacts({ clientId, contacts, canWrite, onChanged }: {
  clientId: string; contacts: Contact[]; canWrite: boolean; onChanged: () => void
}) {
  const { t } = useI18n()
  const [open, setOpen] = useState<string | null>(null) // a contact's id, 'new', or none
  const remove = useSubmit()
  const done = () => { setOpen(null); onChanged() }
  return (
    <>
      <ul className="rows">
        {contacts.map((c) => {
          const name = c.full_name ?? c.name ?? ''
          return (
            <li key={c.id}>
              {name} {c.position ? `· ${c.position}` : ''} {c.email ?? ''} {c.phone ?? ''}
              {canWrite && (
                <span className="inline">
                  <button type="button" aria-expanded={open === c.id} onClick={() => setOpen(open === c.id ? null : c.id)}
                    aria-label={`${t('edit')}: ${name}`}>{t('edit')}</button>
                  <button type="button" aria-label={`${t('remove')}: ${name}`} onClick={() => {
                    if (window.confirm(t('removeContactConfirm', { name }))) void remove.run(() => api.del(`/contacts/${c.id}`)).then((ok) => ok && onChanged())
                  }}>{t('remove')}</button>
                </span>
              )}
              {open === c.id && <ContactForm clientId={clientId} contact={c} onDone={done} />}
            </li>
          )
        })}
        {contacts.length === 0 && <li>{t('nothing')}</li>}
      </ul>
      <FormMessage message={remove.message} />
      {canWrite && (
        <>
          <button type="button" aria-expanded={open === 'new'} onClick={() => setOpen(open === 'new' ? null : 'new')}>{t('addContact')}</button>
          {open === 'new' && <ContactForm clientId={clientId} onDone={done} />}
        </>
      )}
    </>
  )
}
