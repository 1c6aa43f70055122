/** The peer client as the UI sees it: every event checked once, at the boundary, then fanned out. */
import type { ClientEvent, PeerClient } from '../../../shared/protocol.ts'
import { parseEvent } from './events.ts'

export function checkedClient(inner: PeerClient, onDropped: (e: unknown) => void = () => {}): PeerClient {
  const listeners = new Set<(e: ClientEvent) => void>()
  inner.onEvent((raw) => {
    const e = parseEvent(raw)
    if (!e) return onDropped(raw)
    for (const l of [...listeners]) {
      try {
        l(e)
      } catch (err) {
        console.error('event listener failed', err)
      }
    }
  })
  return {
    request: (method, params) => inner.request(method, params),
    onEvent(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
}
