import { lazy, Suspense, type ReactNode } from 'react'
import { BrowserRouter, Navigate, NavLink, Route, Routes } from 'react-router-dom'
import { useAuth } from './auth'
import { useI18n, type Locale } from './i18n'
import { canUse, homeFor, type Screen } from './roles'
import { Login } from './screens/Login'
import { MyDay } from './screens/MyDay'
import { BoardScreen } from './screens/Board'
import { ClientsList } from './screens/Clients'
import { ClientCard } from './screens/ClientCard'
import { DealCard } from './screens/DealCard'
import { ImportScreen } from './screens/Import'
import { Notifications } from './screens/Notifications'
import { HandOffs } from './screens/HandOffs'
import { prefetchDashboard } from './screens/dashboardData'
import { useLiveUpdates, useLive } from './live'

// The charts and the admin screens are their own chunks: most sessions never load them.
const Dashboard = lazy(() => { prefetchDashboard(); return import('./screens/Dashboard') })
const Admin = lazy(() => import('./screens/Admin'))

const NAV: { screen: Screen; path: string }[] = [
  { screen: 'myDay', path: '/my-day' }, { screen: 'board', path: '/board' }, { screen: 'clients', path: '/clients' },
  { screen: 'dashboard', path: '/dashboard' }, { screen: 'import', path: '/import' },
  { screen: 'notifications', path: '/notifications' }, { screen: 'handOffs', path: '/hand-offs' },
  { screen: 'admin', path: '/admin' },
]

function Shell({ children }: { children: ReactNode }) {
  const { me, logout } = useAuth()
  const { t, locale, setLocale } = useI18n()
  const live = useLive()
  return (
    <>
      <a className="skip" href="#main">{t('skipToContent')}</a>
      <header className="topbar">
        <span className="brand">{t('appName')}</span>
        <nav aria-label={t('mainNav')}>
          <ul>
            {NAV.filter((item) => canUse(me?.role, item.screen)).map((item) => (
              <li key={item.path}><NavLink to={item.path}>{t(item.screen)}</NavLink></li>
            ))}
          </ul>
        </nav>
        <div className="session">
          <label className="visually-hidden" htmlFor="locale">{t('language')}</label>
          <select id="locale" value={locale} onChange={(e) => setLocale(e.target.value as Locale)}>
            <option value="ru">RU</option><option value="en">EN</option>
          </select>
          <span className="live-dot" data-live={live} title={t(live ? 'liveOn' : 'liveOff')}>
            <span className="visually-hidden">{t(live ? 'liveOn' : 'liveOff')}</span></span>
          <details className="user-menu">
            <summary>{me?.full_name || t('account')}</summary>
            <div className="menu">
              <button type="button" onClick={() => void logout()}>{t('signOut')}</button>
              {/* revokes every refresh token of the user: other browsers and phones are signed out at their next refresh */}
              <button type="button" onClick={() => void logout(true)}>{t('signOutEverywhere')}</button>
            </div>
          </details>
        </div>
      </header>
      <main id="main" tabIndex={-1}>{children}</main>
    </>
  )
}

function Guard({ screen, children }: { screen: Screen; children: ReactNode }) {
  const { me } = useAuth()
  if (!me) return <Navigate to="/login" replace />
  if (!canUse(me.role, screen)) return <Navigate to={homeFor(me.role)} replace />
  return <Shell><Suspense fallback={<p role="status">…</p>}>{children}</Suspense></Shell>
}

export function App() {
  const { me, ready } = useAuth()
  const { t } = useI18n()
  useLiveUpdates(!!me) // here, not in the screens' shell: one stream for the whole visit, across screens
  if (!ready) return <p className="splash" role="status">{t('loading')}</p>
  return (
    <BrowserRouter>
      <Routes>
        <Route path="/login" element={me ? <Navigate to={homeFor(me.role)} replace /> : <Login />} />
        <Route path="/my-day" element={<Guard screen="myDay"><MyDay /></Guard>} />
        <Route path="/board" element={<Guard screen="board"><BoardScreen /></Guard>} />
        <Route path="/clients" element={<Guard screen="clients"><ClientsList /></Guard>} />
        <Route path="/clients/:clientId" element={<Guard screen="clients"><ClientCard /></Guard>} />
        <Route path="/deals/:dealId" element={<Guard screen="board"><DealCard /></Guard>} />
        <Route path="/dashboard" element={<Guard screen="dashboard"><Dashboard /></Guard>} />
        <Route path="/import" element={<Guard screen="import"><ImportScreen /></Guard>} />
        <Route path="/notifications" element={<Guard screen="notifications"><Notifications /></Guard>} />
        <Route path="/hand-offs" element={<Guard screen="handOffs"><HandOffs /></Guard>} />
        <Route path="/admin/*" element={<Guard screen="admin"><Admin /></Guard>} />
        <Route path="*" element={<Navigate to={me ? homeFor(me.role) : '/login'} replace />} />
      </Routes>
    </BrowserRouter>
  )
}
