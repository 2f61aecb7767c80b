import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeGateway } from '../test/fakeServer'
import { api, clearEtagCache, fieldErrors } from './http'
import { csrfFromCookie, currentToken, login, refresh, resetSession } from './session'

const tokens = (n: number) => ({ access_token: `token-${n}`, token_type: 'Bearer', expires_in: 900, csrf_token: 'c' })

beforeEach(() => { document.cookie = 'glassbox_csrf=csrf-1; path=/'; clearEtagCache() })
afterEach(() => { resetSession(); vi.unstubAllGlobals(); document.cookie = 'glassbox_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/' })

describe('the session', () => {
  it('logs in asking for the cookie session and keeps the access token in memory only', async () => {
    const { seen } = fakeGateway({ 'POST /api/v1/auth/login': () => ({ body: tokens(1) }) })
    await login('anna@x', 'pw')
    expect(seen[0].body).toEqual({ email: 'anna@x', password: 'pw', session: 'cookie' })
    expect(currentToken()).toBe('token-1')
    expect(localStorage.length).toBe(0)
  })

  it('refreshes with the CSRF token of the readable cookie, and two callers share one refresh', async () => {
    const { seen } = fakeGateway({ 'POST /api/v1/auth/refresh': () => ({ body: tokens(2) }) })
    const [a, b] = await Promise.all([refresh(), refresh()])
    expect(a && b).toBe(true)
    expect(seen.filter((s) => s.path === '/api/v1/auth/refresh')).toHaveLength(1)
    expect(seen[0].headers['X-CSRF-Token']).toBe('csrf-1')
    expect(currentToken()).toBe('token-2')
  })

  it('is signed out when the refresh is refused, and does not call the gateway without a CSRF cookie', async () => {
    const { seen } = fakeGateway({ 'POST /api/v1/auth/refresh': () => ({ status: 401, body: { message: 'spent' } }) })
    expect(await refresh()).toBe(false)
    expect(currentToken()).toBeNull()
    document.cookie = 'glassbox_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/'
    expect(await refresh()).toBe(false)
    expect(seen).toHaveLength(1)
  })

  it('reads the CSRF cookie among others', () => {
    expect(csrfFromCookie('a=1; glassbox_csrf=abc%3D; b=2')).toBe('abc=')
    expect(csrfFromCookie('a=1')).toBeNull()
  })
})

describe('calls to the API', () => {
  it('refresh once on a 401 and repeat the call with the new token', async () => {
    let calls = 0
    const { seen } = fakeGateway({
      'GET /api/v1/me': () => (++calls === 1 ? { status: 401, body: { message: 'expired' } } : { body: { id: 'u1' } }),
      'POST /api/v1/auth/refresh': () => ({ body: tokens(3) }),
    })
    expect(await api.get('/me')).toEqual({ id: 'u1' })
    expect(seen.at(-1)?.headers.Authorization).toBe('Bearer token-3')
  })

  it('send If-None-Match when polling and reuse the last body on a 304', async () => {
    let first = true
    const { seen } = fakeGateway({
      'GET /api/v1/pipelines/p/board': () => {
        if (first) { first = false; return { body: { columns: [1] }, headers: { ETag: '"7"' } } }
        return { status: 304, headers: { ETag: '"7"' } }
      },
    })
    await api.get('/pipelines/p/board')
    expect(await api.get('/pipelines/p/board')).toEqual({ columns: [1] })
    expect(seen[1].headers['If-None-Match']).toBe('"7"')
  })

  it('put field messages in one shape, whatever layer refused', () => {
    expect(fieldErrors({ json: { name: ['Missing data'] } })).toEqual({ name: ['Missing data'] })
    expect(fieldErrors({ tax_id: 'taken' })).toEqual({ tax_id: ['taken'] })
    expect(fieldErrors(null)).toEqual({})
  })
})
