// Exports (GET .../export?format=csv|xlsx) as a file the browser saves: fetched with the bearer token (a plain link
// could not carry it), refreshed once on a 401, then handed to the browser as an object URL.
import { ApiError } from './http'
import { currentToken, refresh } from './session'

export interface Downloaded { blob: Blob; filename: string }

function get(path: string): Promise<Response> {
  const token = currentToken()
  return fetch(`/api/v1${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {}, credentials: 'same-origin' })
}

/** The file at `path` and the name the server gives it (Content-Disposition), or `fallback`. */
export async function download(path: string, fallback: string): Promise<Downloaded> {
  let response = await get(path)
  if (response.status === 401 && await refresh()) response = await get(path)
  if (!response.ok) {
    const text = await response.text()
    let message = response.statusText
    try { message = JSON.parse(text).message ?? message } catch { /* not the error shape */ }
    throw new ApiError(response.status, message)
  }
  const named = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '')
  return { blob: await response.blob(), filename: named?.[1] ?? fallback }
}

/** Let the browser save `file` (an anchor with `download`, clicked, then the object URL released). */
export function save(file: Downloaded) {
  const url = URL.createObjectURL(file.blob)
  const anchor = document.createElement('a')
  anchor.href = url
  anchor.download = file.filename
  document.body.appendChild(anchor)
  anchor.click()
  anchor.remove()
  URL.revokeObjectURL(url)
}
