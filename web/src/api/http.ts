// Every call to the gateway: the bearer token, one silent refresh on a 401, the one error shape, and
// conditional GETs (If-None-Match) so polling the board or My day costs a 304 when nothing changed.
import { currentToken, refresh } from './session'

export class ApiError extends Error {
  constructor(public status: number, message: string, public fieldErrors: Record<string, string[]> = {}) {
    super(message)
  }
}

interface Cached { etag: string; body: unknown }
const etagCache = new Map<string, Cached>()

export interface Answer<T> { body: T; etag: string | null; status: number }

/** Field name -> messages, from either {errors: {field: [...]}} or webargs' {errors: {json: {field: [...]}}}. */
export function fieldErrors(errors: unknown): Record<string, string[]> {
  if (!errors || typeof errors !== 'object') return {}
  const source = (errors as Record<string, unknown>).json ?? errors
  const result: Record<string, string[]> = {}
  for (const [field, messages] of Object.entries(source as Record<string, unknown>)) {
    result[field] = Array.isArray(messages) ? messages.map(String)
      : typeof messages === 'string' ? [messages] : [JSON.stringify(messages)]
  }
  return result
}

async function send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  const token = currentToken()
  const all: Record<string, string> = { Accept: 'application/json', ...headers }
  if (token) all.Authorization = `Bearer ${token}`
  let payload: BodyInit | undefined
  if (body instanceof FormData || typeof body === 'string') payload = body
  else if (body !== undefined) { payload = JSON.stringify(body); all['Content-Type'] = 'application/json' }
  return fetch(`/api/v1${path}`, { method, headers: all, body: payload, credentials: 'same-origin' })
}

export async function request<T>(method: string, path: string, body?: unknown,
                                 headers: Record<string, string> = {}): Promise<Answer<T>> {
  const cached = method === 'GET' ? etagCache.get(path) : undefined
  const conditional = cached ? { ...headers, 'If-None-Match': cached.etag } : headers
  let response = await send(method, path, body, conditional)
  if (response.status === 401 && await refresh()) response = await send(method, path, body, conditional)
  if (response.status === 304 && cached) return { body: cached.body as T, etag: cached.etag, status: 304 }
  const text = await response.text()
  const parsed = text ? JSON.parse(text) : null
  if (!response.ok) {
    throw new ApiError(response.status, parsed?.message ?? response.statusText, fieldErrors(parsed?.errors))
  }
  const etag = response.headers.get('ETag')
  if (method === 'GET' && etag) etagCache.set(path, { etag, body: parsed })
  return { body: parsed as T, etag, status: response.status }
}

export const api = {
  get: async <T>(path: string) => (await request<T>('GET', path)).body,
  post: async <T>(path: string, body: unknown = {}, headers?: Record<string, string>) =>
    (await request<T>('POST', path, body, headers)).body,
  patch: async <T>(path: string, body: unknown, headers?: Record<string, string>) =>
    (await request<T>('PATCH', path, body, headers)).body,
  put: async <T>(path: string, body: unknown) => (await request<T>('PUT', path, body)).body,
  del: async (path: string) => { await request<unknown>('DELETE', path) },
}

export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value))
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

/** Every page of a cursor-paged list (the board's cards: a few hundred deals, 200 per page). */
export async function allPages<T>(path: string, params: Record<string, string | undefined>, cap = 2000): Promise<T[]> {
  const items: T[] = []
  let cursor: string | undefined
  do {
    const page = await api.get<{ items: T[]; next_cursor: string | null }>(
      path + query({ ...params, limit: 200, cursor }))
    items.push(...page.items)
    cursor = page.next_cursor ?? undefined
  } while (cursor && items.length < cap)
  return items
}

export function clearEtagCache() {
  etagCache.clear()
}
