/**
 * The peer client as the UI sees it: every event and every result checked once, at the boundary,
 * against the protocol's schemas. A malformed event is dropped; a malformed result is an error
 * (a peer of another version, most likely), never a half-filled object for a view to trip over.
 */
import type { z } from 'zod'
import { parseEvent } from '../../../shared/events.ts'
import {
  clientResultSchemas,
  GrapevineError,
  type ClientEvent,
  type ClientMethod,
  type ClientResults,
  type PeerClient,
} from '../../../shared/protocol.ts'

// Typed per method, so that a generic method still finds its own schema.
const resultSchemas: { [M in ClientMethod]: z.ZodType<ClientResults[M]> } = clientResultSchemas

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
    async request(method, params) {
      const result = await inner.request(method, params)
      const checked = resultSchemas[method].safeParse(result)
      if (checked.success) return checked.data
      const issue = checked.error.issues[0]
      console.error(`malformed ${method} result from the peer`, checked.error.issues, result)
      throw new GrapevineError(
        'internal',
        `The peer's answer to ${method} was malformed (${issue?.path.join('.') || 'result'}: ${issue?.message ?? 'invalid'}).`,
      )
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
}
