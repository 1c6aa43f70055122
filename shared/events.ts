/**
 * Events the peer pushes to its clients, one schema each. The RPC layer checks only the envelope
 * (`{ type }`); a client checks the whole event with `parseEvent` before use, and drops a malformed
 * one whole, never half-applied.
 */
import { z } from 'zod'
import { MAX_CHANGE_BYTES, MAX_LIST_EVENT_DOCS, MAX_NAME_CHARS, MAX_TITLE_CHARS } from './limits.ts'
import { deviceIdSchema, idSchema, joinRequestInfoSchema, presenceInfoSchema } from './types.ts'

const change = z.custom<Uint8Array>(
  (v) => v instanceof Uint8Array && v.byteLength <= MAX_CHANGE_BYTES,
  'a change of at most MAX_CHANGE_BYTES',
)

export const clientEventSchema = z.discriminatedUnion('type', [
  /** Changes to a document this client has open (`doc.open`). */
  z.object({ type: z.literal('doc.changes'), docId: idSchema, changes: z.array(change).max(10_000) }),
  /**
   * The workspace's listing changed. `docIds`: only these documents' rows did (ask for them with `doc.list`'s
   * `docIds`); absent: any may have.
   */
  z.object({ type: z.literal('doc.list'), workspaceId: idSchema, docIds: z.array(idSchema).max(MAX_LIST_EVENT_DOCS).optional() }),
  z.object({ type: z.literal('doc.sync'), docId: idSchema }),
  z.object({ type: z.literal('workspace.list') }),
  z.object({ type: z.literal('workspace.members'), workspaceId: idSchema }),
  z.object({ type: z.literal('peer.list') }),
  /** A teammate's presence changed (or expired: then `docId` and `cursor` are null and `at` is old). */
  z.object({ type: z.literal('presence'), presence: presenceInfoSchema }),
  /** Someone presents an invite that needs approval here; answer with `join.decide`. */
  z.object({ type: z.literal('join.request'), request: joinRequestInfoSchema }),
  /**
   * A join request is no longer waiting: answered here or by another client, timed out (the invite
   * stays open), or its invite was revoked. A client drops its prompt.
   */
  z.object({
    type: z.literal('join.settled'),
    requestId: idSchema,
    workspaceId: idSchema,
    outcome: z.enum(['accepted', 'declined', 'timed-out', 'revoked']),
  }),
  /** An invite this device made was created, used, declined or revoked (see `invite.list`). */
  z.object({ type: z.literal('invite.list'), workspaceId: idSchema }),
  /** A teammate changed a document this device follows (has opened or written). */
  z.object({
    type: z.literal('doc.activity'),
    workspaceId: idSchema,
    docId: idSchema,
    title: z.string().max(MAX_TITLE_CHARS * 4),
    by: deviceIdSchema,
    byName: z
      .string()
      .max(MAX_NAME_CHARS * 4)
      .nullable(),
  }),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn', 'error']), message: z.string().max(10_000) }),
])
export type ClientEvent = z.output<typeof clientEventSchema>

/** The event when it is well-formed, else null. */
export function parseEvent(e: unknown): ClientEvent | null {
  const r = clientEventSchema.safeParse(e)
  return r.success ? r.data : null
}
