// Users: the list with filters (search, role, team, active), a new user with a first password, and per user
// the role, the team and deactivation (which also revokes their sessions). The head of sales reads only.
import { useState } from 'react'
import { api } from '../../api/http'
import type { Role, Team, User } from '../../api/types'
import { Field, FormMessage, useSubmit } from '../../components/form'
import { ErrorNote, Section } from '../../components/ui'
import { useI18n } from '../../i18n'
import { ROLES } from '../../roles'
import { useAdminList, useRefresh } from './common'

function RoleOptions() {
  const { t } = useI18n()
  return <>{ROLES.map((role) => <option key={role} value={role}>{t(`role_${role}`)}</option>)}</>
}

function TeamOptions({ teams }: { teams: Team[] }) {
  return <><option value="">—</option>{teams.map((team) => <option key={team.id} value={team.id}>{team.name}</option>)}</>
}

const EMPTY = { email: '', full_name: '', role: 'manager', team_id: '', password: '' }

function NewUser({ teams, onDone }: { teams: Team[]; onDone: () => void }) {
  const { t } = useI18n()
  const [values, setValues] = useState(EMPTY)
  const submit = useSubmit()
  const set = (name: keyof typeof EMPTY) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setValues({ ...values, [name]: e.target.value })
  const save = async (event: React.FormEvent) => {
    event.preventDefault()
    const ok = await submit.run(() => api.post('/users', { ...values, team_id: values.team_id || null }))
    if (ok) { setValues(EMPTY); onDone() }
  }
  const e = submit.errors
  return (
    <form className="form" onSubmit={(ev) => void save(ev)} noValidate aria-label={t('newUser')}>
      <Field id="user-email" label={t('email')} errors={e.email}>{(p) => <input {...p} type="email" value={values.email} onChange={set('email')} />}</Field>
      <Field id="user-name" label={t('name')} errors={e.full_name}>{(p) => <input {...p} value={values.full_name} onChange={set('full_name')} />}</Field>
      <Field id="user-role" label={t('role')} errors={e.role}>{(p) => <select {...p} value={values.role} onChange={set('role')}><RoleOptions /></select>}</Field>
      <Field id="user-team" label={t('team')} errors={e.team_id}>{(p) => <select {...p} value={values.team_id} onChange={set('team_id')}><TeamOptions teams={teams} /></select>}</Field>
      <Field id="user-password" label={t('initialPassword')} errors={e.password}>
        {(p) => <input {...p} type="password" autoComplete="new-password" minLength={10} value={values.password} onChange={set('password')} />}
      </Field>
      <FormMessage message={submit.message} />
      <button type="submit" disabled={submit.busy}>{t('add')}</button>
    </form>
  )
}

function UserRow({ user, teams, write, onDone }: { user: User; teams: Team[]; write: boolean; onDone: () => void }) {
  const { t } = useI18n()
  const submit = useSubmit()
  const change = (action: () => Promise<unknown>) => void submit.run(action).then((ok) => ok && onDone())
  const team = teams.find((x) => x.id === user.team_id)?.name ?? '—'
  return (
    <tr className={user.is_active ? undefined : 'inactive'}>
      <td>{user.full_name}<FormMessage message={submit.message} /></td><td>{user.email}</td>
      <td>{write ? (
        <select aria-label={`${user.full_name}: ${t('role')}`} value={user.role}
          onChange={(e) => change(() => api.patch(`/users/${user.id}`, { role: e.target.value as Role }))}><RoleOptions /></select>
      ) : t(`role_${user.role}`)}</td>
      <td>{write ? (
        <select aria-label={`${user.full_name}: ${t('team')}`} value={user.team_id ?? ''}
          onChange={(e) => change(() => api.patch(`/users/${user.id}`, { team_id: e.target.value || null }))}><TeamOptions teams={teams} /></select>
      ) : team}</td>
      <td>{write ? (
        <button type="button" aria-label={`${user.full_name}: ${user.is_active ? t('deactivate') : t('activate')}`}
          onClick={() => change(() => api.post(`/users/${user.id}/${user.is_active ? 'deactivate' : 'activate'}`))}>
          {user.is_active ? t('deactivate') : t('activate')}</button>
      ) : user.is_active ? t('active') : t('inactive')}</td>
    </tr>
  )
}

export function Users({ write }: { write: boolean }) {
  const { t } = useI18n()
  const [filters, setFilters] = useState({ q: '', role: '', team_id: '', is_active: '' })
  const users = useAdminList<User>('/users', { ...filters, sort: 'full_name' })
  const teams = useAdminList<Team>('/teams')
  const refresh = useRefresh('/users')
  const teamList = teams.data?.items ?? []
  const set = (name: keyof typeof filters) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setFilters({ ...filters, [name]: e.target.value })
  return (
    <Section title={t('users')}>
      <fieldset className="filters">
        <legend className="visually-hidden">{t('filters')}</legend>
        <label>{t('search')}<input type="search" value={filters.q} onChange={set('q')} /></label>
        <label>{t('role')}<select value={filters.role} onChange={set('role')}><option value="">{t('all')}</option><RoleOptions /></select></label>
        <label>{t('team')}<select value={filters.team_id} onChange={set('team_id')}><option value="">{t('all')}</option>
          {teamList.map((team) => <option key={team.id} value={team.id}>{team.name}</option>)}</select></label>
        <label>{t('status')}<select value={filters.is_active} onChange={set('is_active')}><option value="">{t('all')}</option>
          <option value="true">{t('active')}</option><option value="false">{t('inactive')}</option></select></label>
      </fieldset>
      <ErrorNote error={users.error} />
      <div className="table-wrap">
        <table><thead><tr><th scope="col">{t('name')}</th><th scope="col">{t('email')}</th><th scope="col">{t('role')}</th>
          <th scope="col">{t('team')}</th><th scope="col">{t('status')}</th></tr></thead>
          <tbody>{users.data?.items.map((u) => <UserRow key={u.id} user={u} teams={teamList} write={write} onDone={refresh} />)}</tbody></table>
      </div>
      {write && <details><summary>{t('newUser')}</summary><NewUser teams={teamList} onDone={refresh} /></details>}
    </Section>
  )
}
