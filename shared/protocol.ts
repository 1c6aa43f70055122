/**
 * The client protocol: what a client (renderer, CLI) may ask of its peer, and what the peer answers.
 * Requests are validated with these schemas at the peer before anything else happens; results
 * have schemas too, so a client can check what it is given. Events are in `events.ts`.
 */
import { z } from 'zod'
import {
  MAX_CHANGE_BYTES,
  MAX_CHANGES_PER_MESSAGE,
  MAX_HISTORY_SESSIONS,
  MAX_INVITE_CODE_CHARS,
  MAX_INVITE_TTL_MS,
  MAX_NAME_CHARS,
  MAX_SEARCH_QUERY_CHARS,
  MAX_SEARCH_RESULTS,
  MAX_TEXT_CHARS,
  MAX_TITLE_CHARS,
  MIN_VERSION_CHARS,
  MAX_BOARD_CARDS,
  MAX_BOARD_COLUMNS,
  MAX_CARD_LABELS,
  MAX_CARD_DESCRIPTION_CHARS,
  MAX_LIST_REQUEST_DOCS,
} from './limits.ts'
import {
  cursorSchema,
  deviceIdSchema,
  deviceInfoSchema,
  docSyncStatusSchema,
  documentSummarySchema,
  docVersionSchema,
  headSchema,
  historySessionSchema,
  idSchema,
  inviteDetailsSchema,
  inviteInfoSchema,
  inviteSummarySchema,
  joinRequestInfoSchema,
  keyStatusSchema,
  memberInfoSchema,
  networkInfoSchema,
  peerInfoSchema,
  presenceInfoSchema,
  ROLES,
  searchHitSchema,
  workspaceDigestSchema,
  workspaceInfoSchema,
} from './types.ts'
import type { ClientEvent } from './events.ts'
import { boardItemIdSchema, boardSchema, cardTitleSchema, cardViewSchema, columnNameSchema, dueDateSchema, labelSchema } from './board.ts'

export type { ClientEvent } from './events.ts'

/** Both ends say it first (shared/rpc.ts); bump it when a change would break a client of the previous one. */
export const CLIENT_PROTOCOL_VERSION = 1

/**
 * Marks a cap on what a person sent (a text, a change) rather than on the request's form: going
 * over it is `too-large`, which they can act on, not `bad-request`. See `isTooLarge`.
 */
const tooLarge = (message: string) => ({ message, params: { tooLarge: true } })

const name = z.string().trim().min(1).max(MAX_NAME_CHARS)
const title = z.string().max(MAX_TITLE_CHARS)
const text = z.string().refine((s) => s.length <= MAX_TEXT_CHARS, tooLarge(`over ${MAX_TEXT_CHARS} characters`))
const change = z
  .custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes expected')
  .refine((b) => b.byteLength <= MAX_CHANGE_BYTES, tooLarge(`change over ${MAX_CHANGE_BYTES} bytes`))
const inviteCode = z.string().trim().min(1).max(MAX_INVITE_CODE_CHARS)
const version = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    new RegExp(`^[0-9a-f]{${MIN_VERSION_CHARS},64}$`),
    `a version is a change hash or its first ${MIN_VERSION_CHARS} or more hex digits`,
  )
const itemId = boardItemIdSchema
/** Where a card goes among the cards of its column: before or after one of them, or at an index; none: at the end. */
const place = {
  before: itemId.optional(),
  after: itemId.optional(),
  index: z.number().int().min(0).max(MAX_BOARD_CARDS).optional(),
}
const onePlace = (p: { before?: string; after?: string; index?: number }): boolean =>
  [p.before, p.after, p.index].filter((v) => v !== undefined).length <= 1
const cardFields = {
  description: z
    .string()
    .refine((s) => s.length <= MAX_CARD_DESCRIPTION_CHARS, tooLarge(`over ${MAX_CARD_DESCRIPTION_CHARS} characters`))
    .optional(),
  /** A member's device id; null: nobody. */
  assignee: deviceIdSchema.nullable().optional(),
  /** YYYY-MM-DD; null: none. */
  due: dueDateSchema.nullable().optional(),
  /** The card's labels, all of them (an update replaces the set). */
  labels: z.array(labelSchema).max(MAX_CARD_LABELS).optional(),
}

/** Every request's params, by method; the peer parses them before the method runs. */
export const clientRequestSchemas = {
  'identity.get': z.object({}),
  /**
   * What this session is told. 'open-docs': only the events of the documents it has open (`doc.changes`,
   * `doc.sync`), none of the window-wide ones; the editor's worker (a second session of a window) asks
   * this, so the peer does not send the listing, presence and the rest twice. A session starts with 'all'.
   */
  'session.configure': z.object({ events: z.enum(['all', 'open-docs']) }),
  'identity.setName': z.object({ name }),
  'workspace.list': z.object({}),
  'workspace.create': z.object({ name }),
  'workspace.members': z.object({ workspaceId: idSchema }),
  'workspace.keys': z.object({ workspaceId: idSchema }),
  /** What teammates did since this device last read each document (or since `since`, ms, their clocks). */
  'workspace.digest': z.object({ workspaceId: idSchema, since: z.number().int().nonnegative().optional() }),
  /** Marks every document of the workspace read as it is now. */
  'workspace.markAllRead': z.object({ workspaceId: idSchema }),
  'workspace.invite': z.object({
    workspaceId: idSchema,
    ttlMs: z.number().int().min(1000).max(MAX_INVITE_TTL_MS).optional(),
    /** Default editor. Only the owner may invite an admin. */
    role: z.enum(ROLES).exclude(['owner']).optional(),
    /**
     * The join completes only when someone at the inviter's device accepts it (`join.decide`), after
     * comparing the joiner's safety words. Default true: false makes the code a bearer token (scripts).
     */
    approve: z.boolean().optional(),
  }),
  /** Invites this device made for the workspace, newest first; open ones only unless `includeClosed`. */
  'invite.list': z.object({ workspaceId: idSchema, includeClosed: z.boolean().optional() }),
  /** Stops an open invite from admitting anyone; a join waiting for approval with it is refused. */
  'invite.revoke': z.object({ inviteId: idSchema }),
  'invite.inspect': z.object({ code: inviteCode }),
  /** Joins waiting for a decision at this device (each also came as a `join.request` event). */
  'join.requests': z.object({}),
  /** Declining uses up the invite: its holder cannot ask again with it. */
  'join.decide': z.object({ requestId: idSchema, accept: z.boolean() }),
  'workspace.join': z.object({ code: inviteCode, name: name.optional() }),
  /**
   * This device leaves the workspace (a signed op). The workspace is no longer listed or served;
   * its documents stay in this device's database, unreadable through the protocol, until a new
   * invite brings this device back. The owner cannot leave.
   */
  'workspace.leave': z.object({ workspaceId: idSchema }),
  /** Admins only; the owner cannot be removed. To leave, use `workspace.leave`. */
  'member.remove': z.object({ workspaceId: idSchema, deviceId: deviceIdSchema }),
  /** Admins only; only the owner makes admins; the owner's role never changes (no ownership transfer). */
  'member.setRole': z.object({ workspaceId: idSchema, deviceId: deviceIdSchema, role: z.enum(ROLES).exclude(['owner']) }),
  /**
   * The workspace's documents, newest change first. With `docIds`, only those of them (deleted ones too, so a
   * client that keeps the listing can drop them; a document not in the workspace is left out).
   */
  'doc.list': z.object({
    workspaceId: idSchema,
    includeDeleted: z.boolean().optional(),
    docIds: z.array(idSchema).min(1).max(MAX_LIST_REQUEST_DOCS).optional(),
  }),
  'doc.create': z.object({ workspaceId: idSchema, title, text: text.optional() }),
  'doc.rename': z.object({ docId: idSchema, title }),
  'doc.delete': z.object({ docId: idSchema }),
  'doc.read': z.object({ docId: idSchema }),
  'doc.setText': z.object({ docId: idSchema, text }),
  'doc.open': z.object({ docId: idSchema }),
  'doc.close': z.object({ docId: idSchema }),
  'doc.applyChanges': z.object({ docId: idSchema, changes: z.array(change).min(1).max(MAX_CHANGES_PER_MESSAGE) }),
  'doc.syncStatus': z.object({ docId: idSchema }),
  /** The document's timeline of editing sessions, the latest first; `before` (ms): older than that (the next page). */
  'doc.history': z.object({
    docId: idSchema,
    before: z.number().int().nonnegative().optional(),
    limit: z.number().int().min(1).max(MAX_HISTORY_SESSIONS).optional(),
  }),
  /** A version of the document (a session's version, or a unique prefix of one), read only, marked against now. */
  'doc.version': z.object({ docId: idSchema, version }),
  /** Makes the document's title and text those of a version again, as a new change everyone receives. */
  'doc.restore': z.object({ docId: idSchema, version }),
  /** This device has seen the document as it is now (clears `unread`). */
  'doc.markRead': z.object({ docId: idSchema }),
  /** Where this client is: the open document and the selection. */
  'presence.set': z.object({ workspaceId: idSchema, docId: idSchema.nullable(), cursor: cursorSchema.nullable() }),
  'presence.list': z.object({ workspaceId: idSchema }),
  'peer.list': z.object({}),
  'peer.dial': z.object({ address: z.string().min(1).max(512) }),
  'network.info': z.object({}),
  /** Full-text search over the documents of one workspace, or of all this device reads. */
  'search.query': z.object({
    query: z.string().refine((s) => s.length <= MAX_SEARCH_QUERY_CHARS, tooLarge(`over ${MAX_SEARCH_QUERY_CHARS} characters`)),
    workspaceId: idSchema.optional(),
    limit: z.number().int().min(1).max(MAX_SEARCH_RESULTS).optional(),
  }),
  /** Indexes every readable document again (the index is kept current by itself; this is for repair). */
  'search.rebuild': z.object({}),
  /** A task board (shared/board.ts): a document of kind 'board'; default columns To do, Doing, Done. */
  'board.create': z.object({ workspaceId: idSchema, title, columns: z.array(columnNameSchema).min(1).max(MAX_BOARD_COLUMNS).optional() }),
  /** The board as a checked plain view: columns in order, each with its cards in order. */
  'board.read': z.object({ docId: idSchema }),
  /** A card in `column` (default: the first). */
  'card.add': z
    .object({ docId: idSchema, title: cardTitleSchema, column: itemId.optional(), ...cardFields, ...place })
    .refine(onePlace, 'give at most one of before, after, index'),
  /** Changes the fields given; the others stay. */
  'card.update': z.object({ docId: idSchema, cardId: itemId, title: cardTitleSchema.optional(), ...cardFields }),
  /** To `column`, within it or from another, at `before`/`after`/`index` (default: the end). */
  'card.move': z
    .object({ docId: idSchema, cardId: itemId, column: itemId, ...place })
    .refine(onePlace, 'give at most one of before, after, index'),
  'card.delete': z.object({ docId: idSchema, cardId: itemId }),
  /** A column at `index` (default: last). */
  'column.add': z.object({ docId: idSchema, name: columnNameSchema, index: z.number().int().min(0).max(MAX_BOARD_COLUMNS).optional() }),
  'column.rename': z.object({ docId: idSchema, columnId: itemId, name: columnNameSchema }),
  'column.move': z.object({ docId: idSchema, columnId: itemId, index: z.number().int().min(0).max(MAX_BOARD_COLUMNS) }),
  /** Its cards go to the end of the first column left; the last column cannot be deleted. */
  'column.delete': z.object({ docId: idSchema, columnId: itemId }),
  /**
   * Cards assigned to this device on the boards of one workspace, or of all it reads: the "my tasks"
   * list (at most MAX_LISTED_TASKS cards). A board's change raises `doc.list` for its workspace (as any
   * document's does): ask again then.
   */
  'tasks.mine': z.object({ workspaceId: idSchema.optional() }),
} as const

export type ClientMethod = keyof typeof clientRequestSchemas
/** What a client sends. */
export type ClientParams<M extends ClientMethod> = z.input<(typeof clientRequestSchemas)[M]>
/** What a method receives once its params are parsed (names trimmed, …). */
export type ValidClientParams<M extends ClientMethod> = z.output<(typeof clientRequestSchemas)[M]>

/** Whether a failed check of params is a `tooLarge` cap (else the request is malformed). */
export function isTooLarge(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'custom' && issue.params?.['tooLarge'] === true
}

const heads = z.array(headSchema)
/** A board as `board.read` gives it; every board method answers with the board as it is after it. */
const boardView = boardSchema.extend({ docId: idSchema, workspaceId: idSchema, heads })
export type BoardView = z.output<typeof boardView>

/** Every method's result. */
export const clientResultSchemas = {
  'identity.get': deviceInfoSchema,
  'session.configure': z.object({ events: z.enum(['all', 'open-docs']) }),
  'identity.setName': deviceInfoSchema,
  'workspace.list': z.array(workspaceInfoSchema),
  'workspace.create': workspaceInfoSchema,
  'workspace.members': z.array(memberInfoSchema),
  'workspace.keys': keyStatusSchema,
  'workspace.digest': workspaceDigestSchema,
  'workspace.markAllRead': z.object({ documents: z.number().int().nonnegative() }),
  'workspace.invite': inviteInfoSchema,
  'invite.list': z.array(inviteSummarySchema),
  /** The invite as it is now: `revoked`; `expired` if it had expired (nothing changes); `used` if a join took it first. */
  'invite.revoke': inviteSummarySchema,
  'invite.inspect': inviteDetailsSchema,
  'join.requests': z.array(joinRequestInfoSchema),
  'join.decide': z.object({ requestId: idSchema, accepted: z.boolean() }),
  'workspace.join': workspaceInfoSchema,
  /**
   * `teammates`: the other members when this device left; `told`: how many of them were reached and
   * handed the leave now. The rest learn it when they next connect to this device.
   */
  'workspace.leave': z.object({ workspaceId: idSchema, teammates: z.number().int().nonnegative(), told: z.number().int().nonnegative() }),
  /**
   * Done here; the others learn by gossip and catch-up, the removed device too if it is online now.
   * `keys`: who has the new content key made for the removal (see `keyStatusSchema`).
   */
  'member.remove': z.object({ workspaceId: idSchema, deviceId: deviceIdSchema, keys: keyStatusSchema }),
  /** The member as it is now. */
  'member.setRole': memberInfoSchema,
  'doc.list': z.array(documentSummarySchema),
  'doc.create': documentSummarySchema,
  'doc.rename': documentSummarySchema,
  'doc.delete': documentSummarySchema,
  'doc.read': z.object({ docId: idSchema, title: z.string(), text: z.string(), heads }),
  'doc.setText': z.object({ heads }),
  /**
   * The document as `Automerge.save` bytes; live changes follow as `doc.changes` events. `actor` is
   * the Automerge actor id the client's replica must write with (it carries this device's prefix).
   */
  'doc.open': z.object({
    docId: idSchema,
    bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes expected'),
    heads,
    actor: z
      .string()
      .max(128)
      .regex(/^[0-9a-f]+$/, 'not an actor id'),
    /** The heads this device last read it at (null: never, or before they were kept): the editor marks what came since. */
    readHeads: heads.nullable(),
  }),
  'doc.close': z.object({ closed: z.boolean() }),
  /** Once the changes are durable in this device's database. */
  'doc.applyChanges': z.object({ heads }),
  'doc.syncStatus': docSyncStatusSchema,
  'doc.markRead': z.object({ docId: idSchema }),
  'presence.set': z.object({ ok: z.literal(true) }),
  'presence.list': z.array(presenceInfoSchema),
  'peer.list': z.array(peerInfoSchema),
  'peer.dial': peerInfoSchema,
  'network.info': networkInfoSchema,
  'doc.history': z.object({
    sessions: z.array(historySessionSchema),
    /** Older sessions exist: ask with `before` set to the last one's `endedAt`. */
    more: z.boolean(),
  }),
  'doc.version': docVersionSchema,
  'doc.restore': z.object({ heads }),
  'search.query': z.array(searchHitSchema),
  'search.rebuild': z.object({ documents: z.number().int().nonnegative() }),
  'board.create': documentSummarySchema,
  'board.read': boardView,
  'card.add': z.object({ cardId: itemId, board: boardView }),
  'card.update': z.object({ cardId: itemId, board: boardView }),
  'card.move': z.object({ cardId: itemId, board: boardView }),
  'card.delete': z.object({ cardId: itemId, board: boardView }),
  'column.add': z.object({ columnId: itemId, board: boardView }),
  'column.rename': z.object({ columnId: itemId, board: boardView }),
  'column.move': z.object({ columnId: itemId, board: boardView }),
  /** `moved`: the cards that went to the first column left. */
  'column.delete': z.object({ columnId: itemId, moved: z.number().int().nonnegative(), board: boardView }),
  /** Board order within each board; boards by title. */
  'tasks.mine': z.array(
    z.object({
      workspaceId: idSchema,
      docId: idSchema,
      boardTitle: z.string(),
      columnId: itemId,
      columnName: z.string(),
      card: cardViewSchema,
    }),
  ),
} as const satisfies { [M in ClientMethod]: z.ZodType }

export type ClientResults = { [M in ClientMethod]: z.output<(typeof clientResultSchemas)[M]> }

/** Error codes a client can act on. */
export const ERROR_CODES = [
  'bad-request',
  'not-found',
  'forbidden',
  'invite-invalid',
  'invite-expired',
  'invite-used',
  'unreachable',
  /** Well-formed, but the state refuses it: removing the owner, the owner leaving, revoking a used invite. */
  'conflict',
  'too-large',
  'version-mismatch',
  'internal',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

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
