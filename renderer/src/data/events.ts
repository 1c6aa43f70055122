/**
 * Events from the peer, checked before use. The RPC layer checks only the envelope (`{ type }`),
 * and the page trusts nothing it did not check: a malformed event is dropped, never half-applied.
 */
import { z } from 'zod'
import { MAX_CHANGE_BYTES, MAX_NAME_CHARS, MAX_TITLE_CHARS } from '../../../shared/limits.ts'
import type { ClientEvent } from '../../../shared/protocol.ts'
import type { JoinRequestInfo, PresenceInfo } from '../../../shared/types.ts'

const id = z.string().min(1).max(128)
const change = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength <= MAX_CHANGE_BYTES)
const cursor = z.object({ anchor: z.string().max(128), head: z.string().max(128) })

const presence = z.object({
  workspaceId: id, deviceId: id, name: z.string().max(MAX_NAME_CHARS * 4), docId: id.nullable(), cursor: cursor.nullable(),
  utcOffsetMinutes: z.number().int().min(-16 * 60).max(16 * 60), at: z.number(),
})
const joinRequest = z.object({
  requestId: id, workspaceId: id, workspaceName: z.string().max(MAX_NAME_CHARS * 4), deviceId: id,
  name: z.string().max(MAX_NAME_CHARS * 4), safetyWords: z.string().max(400),
})

const eventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('doc.changes'), docId: id, changes: z.array(change).max(10_000) }),
  z.object({ type: z.literal('doc.list'), workspaceId: id }),
  z.object({ type: z.literal('doc.sync'), docId: id }),
  z.object({ type: z.literal('workspace.list') }),
  z.object({ type: z.literal('workspace.members'), workspaceId: id }),
  z.object({ type: z.literal('peer.list') }),
  z.object({ type: z.literal('presence'), presence }),
  z.object({ type: z.literal('join.request'), request: joinRequest }),
  z.object({
    type: z.literal('doc.activity'), workspaceId: id, docId: id, title: z.string().max(MAX_TITLE_CHARS * 4), by: id,
    byName: z.string().max(MAX_NAME_CHARS * 4).nullable(),
  }),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn', 'error']), message: z.string().max(10_000) }),
])

/** The event when it is well-formed, else null. */
export function parseEvent(e: unknown): ClientEvent | null {
  const r = eventSchema.safeParse(e)
  return r.success ? (r.data as ClientEvent) : null
}

/** The changes of a well-formed `doc.changes` event for `docId`, else null. */
export function parseChangesEvent(e: unknown, docId: string): Uint8Array[] | null {
  const ev = parseEvent(e)
  return ev?.type === 'doc.changes' && ev.docId === docId && ev.changes.length > 0 ? ev.changes : null
}

export type { PresenceInfo, JoinRequestInfo }
