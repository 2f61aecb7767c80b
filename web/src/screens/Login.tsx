import { useState } from 'react'
import { useAuth } from '../auth'
import { useI18n } from '../i18n'
import { LoginError } from '../api/session'

export function Login() {
  const { login } = useAuth()
  const { t } = useI18n()
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (event: React.FormEvent) => {
    event.preventDefault()
    setBusy(true); setError(null)
    try {
      await login(email, password)
    } catch (err) {
      setError(err instanceof LoginError && err.status === 401 ? t('loginFailed') : String((err as Error).message))
    } finally {
      setBusy(false)
    }
  }
  return (
    <main id="main" className="login">
      <form onSubmit={submit} className="panel" aria-labelledby="login-title">
        <h1 id="login-title">{t('appName')}</h1>
        <label>{t('email')}<input type="email" autoComplete="username" required value={email}
          onChange={(e) => setEmail(e.target.value)} /></label>
        <label>{t('password')}<input type="password" autoComplete="current-password" required value={password}
          onChange={(e) => setPassword(e.target.value)} /></label>
        {error && <p role="alert" className="error">{error}</p>}
        <button type="submit" disabled={busy}>{t('signIn')}</button>
      </form>
    </main>
  )
}
