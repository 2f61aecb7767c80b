// The session: the access token lives in memory only; the refresh token is an HttpOnly cookie the gateway
// set at login, spent by POST /auth/refresh with the CSRF token of the readable glassbox_csrf cookie.
export interface TokenAnswer { access_token: string; token_type: string; expires_in: number; csrf_token?: string }

type Listener = (signedIn: boolean) => void

const AUTH = '/api/v1/auth'
const REFRESH_MARGIN_S = 60 // refresh this long before the token expires

let accessToken: string | null = null
let refreshTimer: ReturnType<typeof setTimeout> | null = null
let refreshing: Promise<boolean> | null = null
const listeners = new Set<Listener>()

export function csrfFromCookie(cookie: string = document.cookie): string | null {
  const found = cookie.split(';').map((part) => part.trim()).find((part) => part.startsWith('glassbox_csrf='))
  return found ? decodeURIComponent(found.slice('glassbox_csrf='.length)) : null
}

export function currentToken(): string | null {
  return accessToken
}

/** The claims of the access token (sub, role): enough to draw the screens before GET /me answers. */
export function tokenClaims(): { sub: string; role: string } | null {
  if (!accessToken) return null
  try {
    const payload = accessToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    return JSON.parse(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), '=')))
  } catch {
    return null
  }
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

function adopt(answer: TokenAnswer | null) {
  accessToken = answer?.access_token ?? null
  if (refreshTimer) clearTimeout(refreshTimer)
  refreshTimer = null
  if (answer) {
    const delay = Math.max(answer.expires_in - REFRESH_MARGIN_S, 5) * 1000
    refreshTimer = setTimeout(() => void refresh(), delay)
  }
  listeners.forEach((listener) => listener(accessToken !== null))
}

export class LoginError extends Error {
  constructor(public status: number, message: string) { super(message) }
}

export async function login(email: string, password: string): Promise<void> {
  const response = await fetch(`${AUTH}/login`, {
    method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password, session: 'cookie' }),
  })
  if (!response.ok) {
    const body = await response.json().catch(() => ({}))
    throw new LoginError(response.status, body.message ?? response.statusText)
  }
  adopt(await response.json())
}

/** Restore or prolong the session from the refresh cookie; false when there is none (signed out). Concurrent
 * callers share one request: a second refresh would spend the token the first one just received. */
export function refresh(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      const csrf = csrfFromCookie()
      if (!csrf) { adopt(null); return false }
      try {
        const response = await fetch(`${AUTH}/refresh`, {
          method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: '{}',
        })
        if (!response.ok) { adopt(null); return false }
        adopt(await response.json())
        return true
      } catch {
        return accessToken !== null // offline: keep what we have
      }
    })().finally(() => { refreshing = null })
  }
  return refreshing
}

export async function logout(everywhere = false): Promise<void> {
  const csrf = csrfFromCookie() ?? ''
  try {
    if (everywhere && accessToken) {
      await fetch(`${AUTH}/logout-all`, { method: 'POST', headers: { Authorization: `Bearer ${accessToken}`,
        'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: '{}' })
    }
    await fetch(`${AUTH}/logout`, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: '{}' })
  } finally {
    adopt(null)
  }
}

/** For tests: forget everything. */
export function resetSession() {
  adopt(null)
}
