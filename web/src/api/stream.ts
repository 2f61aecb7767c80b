// The notifications stream (GET /notifications/stream, Server-Sent Events) read with fetch(): EventSource cannot
// send the bearer header. Reconnects with a growing wait and Last-Event-ID (the service replays what came after
// it); `live` says whether a stream is open now, so the screens poll slowly while it is and quickly when not.
import { currentToken, refresh } from './session'

export interface StreamEvent { event: string; data: string; id: string | null }

/** Splits an SSE byte stream into events; feed it text chunks as they come (a line may straddle two chunks). */
export class SseParser {
  private buffer = ''
  private data: string[] = []
  private event = ''
  private id: string | null = null
  lastEventId: string | null = null

  feed(chunk: string): StreamEvent[] {
    this.buffer += chunk
    const out: StreamEvent[] = []
    const lines = this.buffer.split(/\r\n|\r|\n/)
    this.buffer = lines.pop() ?? '' // the unfinished last line waits for the next chunk
    for (const line of lines) {
      if (line === '') { // a blank line ends an event
        if (this.data.length || this.event) {
          if (this.id !== null) this.lastEventId = this.id
          out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id ?? this.lastEventId })
        }
        this.data = []; this.event = ''; this.id = null
        continue
      }
      if (line.startsWith(':')) continue // a keep-alive comment
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'data') this.data.push(value)
      else if (field === 'event') this.event = value
      else if (field === 'id' && !value.includes('\0')) this.id = value
    }
    return out
  }
}

/** Wait before reconnect attempt `attempt` (0-based): 1 s doubling to 30 s. */
export function backoffMs(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, 30_000)
}

type LiveListener = (live: boolean) => void
let live = false
const liveListeners = new Set<LiveListener>()
function setLive(next: boolean) {
  if (next === live) return
  live = next
  liveListeners.forEach((listener) => listener(live))
}
export const liveState = {
  get: () => live,
  subscribe: (listener: () => void) => { liveListeners.add(listener); return () => { liveListeners.delete(listener) } },
}

export interface StreamOptions {
  onEvent: (event: StreamEvent) => void
  /** A stream opened; `again` after one had broken (what happened meanwhile may be missed). */
  onOpen?: (again: boolean) => void
  wait?: (ms: number, signal: AbortSignal) => Promise<void>
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, ms)
  signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
})

/** Keeps a stream open until the returned function is called. */
export function openNotificationStream({ onEvent, onOpen, wait = sleep }: StreamOptions): () => void {
  const stop = new AbortController()
  const parser = new SseParser()
  void (async () => {
    let attempt = 0
    let opened = false
    let refreshed = false // one refresh per 401 run: a token refused again is a failure like any other
    while (!stop.signal.aborted) {
      try {
        const headers: Record<string, string> = { Accept: 'text/event-stream' }
        const token = currentToken()
        if (token) headers.Authorization = `Bearer ${token}`
        if (parser.lastEventId) headers['Last-Event-ID'] = parser.lastEventId
        const response = await fetch('/api/v1/notifications/stream',
          { headers, signal: stop.signal, credentials: 'same-origin', cache: 'no-store' })
        if (response.status === 401 && !refreshed) { refreshed = true; if (!(await refresh())) break; continue }
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`)
        const reader = response.body.getReader()
        const decoder = new TextDecoder()
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          if (!live) { // live once something came through (the service sends `unread` at once, then keep-alives)
            setLive(true); onOpen?.(opened); opened = true; attempt = 0; refreshed = false
          }
          for (const event of parser.feed(decoder.decode(value, { stream: true }))) onEvent(event)
        }
      } catch {
        // a refused or broken stream: the polling fallback runs while we wait to try again
      }
      setLive(false)
      if (stop.signal.aborted) break
      await wait(backoffMs(attempt++), stop.signal)
    }
    setLive(false)
  })()
  return () => stop.abort()
}
