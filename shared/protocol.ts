/**
 * The client protocol: what a client (renderer, CLI) may ask of its peer, and what the peer tells it.
 * Requests are validated with these schemas at the peer before anything else happens.
 */
import { z } from 'zod'
import {
  MAX_CHANGE_BYTES, MAX_CHANGES_PER_MESSAGE, MAX_INVITE_CODE_CHARS, MAX_INVITE_TTL_MS, MAX_NAME_CHARS,
  MAX_TEXT_CHARS, MAX_TITLE_CHARS,
} from './limits.ts'
import { ROLES } from './types.ts'
import type {
  DeviceInfo, DocSyncStatus, DocumentSummary, InviteDetails, InviteInfo, JoinRequestInfo, MemberInfo, NetworkInfo, PeerInfo,
  PresenceInfo, WorkspaceInfo,
} from './types.ts'

export const CLIENT_PROTOCOL_VERSION = 1

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/, 'not an id')
const name = z.string().trim().min(1).max(MAX_NAME_CHARS)
const title = z.string().max(MAX_TITLE_CHARS)
const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes expected').refine((b) => b.byteLength <= MAX_CHANGE_BYTES, 'change too large')

/** Every request, by method. Params are validated; results are typed by `ClientResults`. */
export const clientRequestSchemas = {
  'identity.get': z.object({}),
  'identity.setName': z.object({ name }),
  'workspace.list': z.object({}),
  'workspace.create': z.object({ name }),
  'workspace.members': z.object({ workspaceId: id }),
  'workspace.invite': z.object({
    workspaceId: id,
    ttlMs: z.number().int().min(1000).max(MAX_INVITE_TTL_MS).optional(),
    role: z.enum(ROLES).exclude(['owner']).optional(),
    /** The join completes only when someone at the inviter's device accepts it (`join.decide`). */
    approve: z.boolean().optional(),
  }),
  'invite.inspect': z.object({ code: z.string().trim().min(1).max(MAX_INVITE_CODE_CHARS) }),
  'join.decide': z.object({ requestId: id, accept: z.boolean() }),
  'workspace.join': z.object({ code: z.string().trim().min(1).max(MAX_INVITE_CODE_CHARS), name: name.optional() }),
  'doc.list': z.object({ workspaceId: id, includeDeleted: z.boolean().optional() }),
  'doc.create': z.object({ workspaceId: id, title, text: z.string().max(MAX_TEXT_CHARS).optional() }),
  'doc.rename': z.object({ docId: id, title }),
  'doc.delete': z.object({ docId: id }),
  'doc.read': z.object({ docId: id }),
  'doc.setText': z.object({ docId: id, text: z.string().max(MAX_TEXT_CHARS) }),
  'doc.open': z.object({ docId: id }),
  'doc.close': z.object({ docId: id }),
  'doc.applyChanges': z.object({ docId: id, changes: z.array(bytes).min(1).max(MAX_CHANGES_PER_MESSAGE) }),
  'doc.syncStatus': z.object({ docId: id }),
  /** This device has seen the document as it is now (clears `unread`). */
  'doc.markRead': z.object({ docId: id }),
  /** Where this client is: the open document and the selection, as Automerge cursors. */
  'presence.set': z.object({
    workspaceId: id,
    docId: id.nullable(),
    cursor: z.object({ anchor: z.string().max(128), head: z.string().max(128) }).nullable(),
  }),
  'presence.list': z.object({ workspaceId: id }),
  'peer.list': z.object({}),
  'peer.dial': z.object({ address: z.string().min(1).max(512) }),
  'network.info': z.object({}),
} as const

export type ClientMethod = keyof typeof clientRequestSchemas
export type ClientParams<M extends ClientMethod> = z.input<(typeof clientRequestSchemas)[M]>

export interface ClientResults {
  'identity.get': DeviceInfo
  'identity.setName': DeviceInfo
  'workspace.list': WorkspaceInfo[]
  'workspace.create': WorkspaceInfo
  'workspace.members': MemberInfo[]
  'workspace.invite': InviteInfo
  'workspace.join': WorkspaceInfo
  'doc.list': DocumentSummary[]
  'doc.create': DocumentSummary
  'doc.rename': DocumentSummary
  'doc.delete': DocumentSummary
  'doc.read': { docId: string; title: string; text: string; heads: string[] }
  'doc.setText': { heads: string[] }
  /**
   * The document as `Automerge.save` bytes; live changes follow as `doc.changes` events.
   * `actor` is the Automerge actor id the client's replica must write with (it carries this device's prefix).
   */
  'doc.open': { docId: string; bytes: Uint8Array; heads: string[]; actor: string }
  'doc.close': { closed: boolean }
  /** Resolves once the changes are durable in this device's database. */
  'doc.applyChanges': { heads: string[] }
  'doc.syncStatus': DocSyncStatus
  'doc.markRead': { docId: string }
  'presence.set': { ok: true }
  'presence.list': PresenceInfo[]
  'invite.inspect': InviteDetails
  'join.decide': { requestId: string; accepted: boolean }
  'peer.list': PeerInfo[]
  'peer.dial': PeerInfo
  'network.info': NetworkInfo
}

/** Error codes a client can act on. */
export const ERROR_CODES = [
  'bad-request', 'not-found', 'forbidden', 'invite-invalid', 'invite-expired', 'invite-used',
  'unreachable', 'conflict', 'too-large', 'internal',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export type ClientRequest = { id: number; method: string; params: unknown }
export type ClientResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: ErrorCode; message: string } }

/** Events the peer pushes to clients. */
export type ClientEvent =
  | { type: 'doc.changes'; docId: string; changes: Uint8Array[] }
  | { type: 'doc.list'; workspaceId: string }
  | { type: 'doc.sync'; docId: string }
  | { type: 'workspace.list' }
  | { type: 'workspace.members'; workspaceId: string }
  | { type: 'peer.list' }
  /** A teammate's presence changed (or expired: then `docId` and `cursor` are null and `at` is old). */
  | { type: 'presence'; presence: PresenceInfo }
  /** Someone presents an invite that needs approval here; answer with `join.decide`. */
  | { type: 'join.request'; request: JoinRequestInfo }
  /** A teammate changed a document this device follows (has opened or written). */
  | { type: 'doc.activity'; workspaceId: string; docId: string; title: string; by: string; byName: string | null }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }

/** An error with a code a client can act on; its message is for people. */
export class GrapevineError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string) {
    super(message)
    this.name = 'GrapevineError'
    this.code = code
  }
}

/** The typed face of the protocol: what the CLI uses in-process and the renderer over a transport. */
export interface PeerClient {
  request<M extends ClientMethod>(method: M, params: ClientParams<M>): Promise<ClientResults[M]>
  onEvent(listener: (event: ClientEvent) => void): () => void
}
