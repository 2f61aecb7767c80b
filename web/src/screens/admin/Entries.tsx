// The short lists: teams (create, rename), lost reasons, activity types and channels (add, rename, (de)activate;
// a code, where there is one, is given once and never changes).
import { useState } from 'react'
import { api } from '../../api/http'
import { Field, FormMessage, useSubmit } from '../../components/form'
import { ErrorNote, Section } from '../../components/ui'
import { useI18n } from '../../i18n'
import { useAdminList, useRefresh } from './common'

interface Entry { id: string; name: string; code?: string; is_active?: boolean }

/** A code from a name: lower case latin letters, digits and underscores (what the services accept). */
export function codeFromName(name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '')
}

function Row({ path, entry, write, toggles, onDone }: { path: string; entry: Entry; write: boolean; toggles: boolean; onDone: () => void }) {
  const { t } = useI18n()
  const [renaming, setRenaming] = useState(false)
  const [name, setName] = useState(entry.name)
  const submit = useSubmit()
  const id = `rename-${entry.id}`
  const save = async (patch: object) => {
    if (await submit.run(() => api.patch(`${path}/${entry.id}`, patch))) { setRenaming(false); onDone() }
  }
  return (
    <li className={entry.is_active === false ? 'inactive' : undefined}>
      {renaming ? (
        <form className="inline" onSubmit={(e) => { e.preventDefault(); void save({ name }) }} noValidate>
          <Field id={id} label={t('name')} errors={submit.errors.name}>{(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
          <button type="submit">{t('save')}</button>
          <button type="button" onClick={() => { setRenaming(false); setName(entry.name); submit.reset() }}>{t('cancel')}</button>
        </form>
      ) : <span>{entry.name}{entry.code ? ` (${entry.code})` : ''}{entry.is_active === false ? ` · ${t('inactive')}` : ''}</span>}
      {write && !renaming && (
        <span className="inline">
          <button type="button" onClick={() => setRenaming(true)} aria-label={`${t('rename')}: ${entry.name}`}>{t('rename')}</button>
          {toggles && (
            <button type="button" onClick={() => void save({ is_active: !entry.is_active })}
              aria-label={`${entry.is_active ? t('deactivate') : t('activate')}: ${entry.name}`}>
              {entry.is_active ? t('deactivate') : t('activate')}</button>
          )}
        </span>
      )}
      <FormMessage message={submit.message} />
    </li>
  )
}

/** `coded`: entries have a code, made from the name unless typed. `toggles`: entries can be (de)activated. */
export function Entries({ title, path, write, coded = false, toggles = true, also = [] }: {
  title: string; path: string; write: boolean; coded?: boolean; toggles?: boolean; also?: string[][]
}) {
  const { t } = useI18n()
  const list = useAdminList<Entry>(path)
  const refresh = useRefresh(path, ...also)
  const [name, setName] = useState('')
  const [code, setCode] = useState('')
  const submit = useSubmit()
  const prefix = `add${path.replace(/\W/g, '-')}`
  const add = async (event: React.FormEvent) => {
    event.preventDefault()
    const body = coded ? { name, code: code || codeFromName(name) } : { name }
    if (await submit.run(() => api.post(path, body))) { setName(''); setCode(''); refresh() }
  }
  return (
    <Section title={title}>
      <ErrorNote error={list.error} />
      <ul className="rows">{list.data?.items.map((entry) => (
        <Row key={entry.id} path={path} entry={entry} write={write} toggles={toggles} onDone={refresh} />))}
        {list.data?.items.length === 0 && <li>{t('nothing')}</li>}</ul>
      {write && (
        <form className="form" onSubmit={(e) => void add(e)} noValidate aria-label={`${title}: ${t('add')}`}>
          <Field id={`${prefix}-name`} label={t('name')} errors={submit.errors.name}>
            {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
          {coded && (
            <Field id={`${prefix}-code`} label={t('code')} errors={submit.errors.code}>
              {(p) => <input {...p} value={code} placeholder={codeFromName(name)} onChange={(e) => setCode(e.target.value)} />}</Field>
          )}
          <FormMessage message={submit.message} />
          <button type="submit" disabled={submit.busy}>{t('add')}</button>
        </form>
      )}
    </Section>
  )
}
