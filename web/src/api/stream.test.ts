import { afterEach, describe, expect, it, vi } from 'vitest'
import { backoffMs, liveState, openNotificationStream, SseParser, type StreamEvent } from './stream'

describe('the SSE parser', () => {
  it('reads event, id and data lines, skips comments, and joins lines split across chunks', () => {
    const parser = new SseParser()
    expect(parser.feed(': keep-alive\n\nevent: unread\ndata: {"count"')).toEqual([])
    expect(parser.feed(': 3}\n\nevent: notification\nid: n1\ndata: a\ndata: b\n\n')).toEqual([
      { event: 'unread', data: '{"count": 3}', id: null },
      { event: 'notification', data: 'a\nb', id: 'n1' },
    ])
    expect(parser.lastEventId).toBe('n1')
  })

  it('takes CRLF line ends, defaults the event name and keeps the last id for events without one', () => {
    const parser = new SseParser()
    expect(parser.feed('id: 7\r\ndata:x\r\n\r\ndata: y\r\n\r\n')).toEqual([
      { event: 'message', data: 'x', id: '7' }, { event: 'message', data: 'y', id: '7' },
    ])
  })
})

it('waits longer after each failure, up to 30 s', () => {
  expect([0, 1, 2, 5, 10].map(backoffMs)).toEqual([1000, 2000, 4000, 30_000, 30_000])
})

function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  return new ReadableStream({ start(controller) { controller.enqueue(bytes.slice(0, 10)); controller.enqueue(bytes.slice(10)); controller.close() } })
}

describe('the notification stream', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('sends the bearer token, hands over events, and reconnects with Last-Event-ID after a break', async () => {
    const { login } = await import('./session')
    const seen: Record<string, string>[] = []
    const answers = [
      () => new Response(JSON.stringify({ access_token: 'h.eyJzdWIiOiJ1MSJ9.s', token_type: 'Bearer', expires_in: 900 })),
      () => new Response(streamOf('event: unread\ndata: {"count":0}\n\nevent: notification\nid: n9\ndata: {}\n\n')),
      () => new Response(null, { status: 503 }),
      () => new Response(streamOf(': hi\n\n')),
    ]
    vi.stubGlobal('fetch', vi.fn(async (_url: string, init: RequestInit = {}) => {
      seen.push({ ...(init.headers as Record<string, string>) })
      return (answers.shift() ?? (() => new Promise<Response>(() => undefined)))()
    }))
    await login('anna@example.com', 'secret')
    const events: StreamEvent[] = []
    const waits: number[] = []
    const opened: boolean[] = []
    const stop = openNotificationStream({
      onEvent: (event) => events.push(event), onOpen: (again) => opened.push(again),
      wait: async (ms) => { waits.push(ms) },
    })
    await vi.waitFor(() => expect(seen).toHaveLength(5))
    stop()
    expect(events.map((e) => e.event)).toEqual(['unread', 'notification'])
    expect(seen[1].Authorization).toBe('Bearer h.eyJzdWIiOiJ1MSJ9.s')
    expect(seen[1]['Last-Event-ID']).toBeUndefined()
    expect(seen[2]['Last-Event-ID']).toBe('n9')
    expect(seen[4]['Last-Event-ID']).toBe('n9')
    expect(waits).toEqual([1000, 2000, 1000]) // the 503 counts as a failure; a stream that opened resets the wait
    expect(opened).toEqual([false, true])
    await vi.waitFor(() => expect(liveState.get()).toBe(false))
  })
})
