// A fake gateway for component tests: routes "METHOD /path" to handlers, records every request.
import { vi } from 'vitest'

export interface Seen { method: string; path: string; headers: Record<string, string>; body: unknown }
type Handler = (seen: Seen) => { status?: number; body?: unknown; headers?: Record<string, string> }

export function fakeGateway(routes: Record<string, Handler>) {
  const seen: Seen[] = []
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://localhost')
    const method = (init.method ?? 'GET').toUpperCase()
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>))
    const body = typeof init.body === 'string' && init.body ? JSON.parse(init.body) : init.body
    const request = { method, path: url.pathname + url.search, headers, body }
    seen.push(request)
    const key = Object.keys(routes).find((route) => {
      const [m, p] = route.split(' ')
      return m === method && (p === url.pathname || (p.endsWith('*') && url.pathname.startsWith(p.slice(0, -1))))
    })
    const answer = key ? routes[key](request) : { status: 404, body: { message: 'no route' } }
    const status = answer.status ?? 200
    return new Response(status === 304 || answer.body === undefined ? null : JSON.stringify(answer.body),
      { status, headers: { 'Content-Type': 'application/json', ...(answer.headers ?? {}) } })
  })
  vi.stubGlobal('fetch', fetchMock)
  return { seen, fetchMock }
}
