// Who is signed in: restored from the refresh cookie on page load, then GET /me.
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { api, clearEtagCache } from './api/http'
import { login as sessionLogin, logout as sessionLogout, onSessionChange, refresh } from './api/session'
import type { Me } from './api/types'

interface Auth {
  me: Me | null; ready: boolean
  login: (email: string, password: string) => Promise<void>
  logout: (everywhere?: boolean) => Promise<void>
}
const AuthContext = createContext<Auth | null>(null)

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null)
  const [ready, setReady] = useState(false)
  const queryClient = useQueryClient()

  useEffect(() => {
    const stop = onSessionChange((signedIn) => {
      if (!signedIn) { setMe(null); clearEtagCache(); queryClient.clear() }
    })
    void (async () => {
      if (await refresh()) setMe(await api.get<Me>('/me').catch(() => null))
      setReady(true)
    })()
    return () => { stop() }
  }, [queryClient])

  const value: Auth = {
    me, ready,
    login: async (email, password) => { await sessionLogin(email, password); setMe(await api.get<Me>('/me')) },
    logout: async (everywhere) => { await sessionLogout(everywhere) },
  }
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>
}

export function useAuth(): Auth {
  const value = useContext(AuthContext)
  if (!value) throw new Error('useAuth outside AuthProvider')
  return value
}
