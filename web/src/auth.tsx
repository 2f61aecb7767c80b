// Who is signed in: restored from the refresh cookie on page load, then GET /me.
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { api, clearEtagCache } from './api/http'
import { login as sessionLogin, logout as sessionLogout, onSessionChange, refresh, tokenClaims } from './api/session'
import type { Me, Role } from './api/types'

/** Who the token says the caller is, until GET /me fills in the rest (one round trip less before a screen). */
function provisionalMe(): Me | null {
  const claims = tokenClaims()
  return claims ? { id: claims.sub, role: claims.role as Role, email: '', full_name: '', name: '', team_id: null } : null
}

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
      if (await refresh()) {
        setMe(provisionalMe())
        void api.get<Me>('/me').then(setMe, () => undefined)
      }
      setReady(true)
    })()
    return () => { stop() }
  }, [queryClient])

  const value: Auth = {
    me, ready,
    login: async (email, password) => {
      await sessionLogin(email, password)
      setMe(provisionalMe())
      void api.get<Me>('/me').then(setMe, () => undefined)
    },
    logout: async (everywhere) => { await sessionLogout(everywhere) },
  }
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>
}

export function useAuth(): Auth {
  const value = useContext(AuthContext)
  if (!value) throw new Error('useAuth outside AuthProvider')
  return value
}
