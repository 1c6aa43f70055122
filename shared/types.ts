/**
 * Domain types shared by the peer and its clients (renderer, CLI), as zod schemas: each shape is
 * written once and its type comes from it. Pure data: no Node, no DOM.
 */
import { z } from 'zod'
import { MAX_NAME_CHARS } from './limits.ts'
import { DOC_KINDS } from './board.ts'

/**
 * `keeper`: an always-on member device that stores and forwards the workspace's sealed data for the
 * others and is never given a content key: it can tell who wrote what, never what was written.
 */
export const ROLES = ['owner', 'admin', 'editor', 'viewer', 'keeper'] as const
export type Role = (typeof ROLES)[number]

/** Roles that may change documents. */
export const WRITER_ROLES: readonly Role[] = ['owner', 'admin', 'editor']
/** Roles that may invite, add and remove members. */
export const ADMIN_ROLES: readonly Role[] = ['owner', 'admin']
/** Roles that hold the workspace's content keys (everyone but a keeper). */
export const READER_ROLES: readonly Role[] = ['owner', 'admin', 'editor', 'viewer']

// --- primitives, used by the client protocol and the peer protocol alike ---

/** Ids of workspaces, documents, invites and join requests: they end up in URLs, topics and file names. */
export const idSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'not an id')
/** A device id: its libp2p PeerId, base58. */
export const deviceIdSchema = z
  .string()
  .min(10)
  .max(128)
  .regex(/^[A-Za-z0-9]+$/, 'not a device id')
/** One head of an Automerge document: a change hash, hex. */
export const headSchema = z.string().regex(/^[0-9a-f]{64}$/, 'not a change hash')
/** A selection as Automerge cursors into a document's text: stable under concurrent edits. */
export const cursorSchema = z.object({ anchor: z.string().max(128), head: z.string().max(128) })
export type Cursor = z.output<typeof cursorSchema>
/** A clock's offset from UTC in minutes, east positive (UTC+2 is 120). */
export const utcOffsetMinutesSchema = z
  .number()
  .int()
  .min(-16 * 60)
  .max(16 * 60)

const role = z.enum(ROLES)
const time = z.number()
const count = z.number().int().nonnegative()

// --- what crosses the client protocol ---
// Results come from this device's own peer inside a size-capped frame, so their text is not capped
// again; shapes that also arrive as events (presence, join requests) are, as every event is. Their
// names were checked at MAX_NAME_CHARS where a teammate signed them; the slack keeps a client from
// dropping an event over a name a newer peer lets run a little longer.
const eventName = z.string().max(MAX_NAME_CHARS * 4)
const eventSafetyWords = z.string().max(400)

/** This device as people see it. */
export const deviceInfoSchema = z.object({
  deviceId: deviceIdSchema,
  name: z.string(),
  /** Safety words derived from the public key, for people to compare. */
  safetyWords: z.string(),
})
export type DeviceInfo = z.output<typeof deviceInfoSchema>

export const workspaceInfoSchema = z.object({
  id: idSchema,
  name: z.string(),
  /** This device's role in it. */
  role,
  ownerId: deviceIdSchema,
  createdAt: time,
  memberCount: count,
})
export type WorkspaceInfo = z.output<typeof workspaceInfoSchema>

export const memberInfoSchema = z.object({
  deviceId: deviceIdSchema,
  name: z.string(),
  role,
  safetyWords: z.string(),
  addedBy: deviceIdSchema,
  addedAt: time,
  online: z.boolean(),
  lastSeen: time.nullable(),
  /** True for this device. */
  self: z.boolean(),
  /**
   * The workspace's current content key on that device: `current` (it has shown it holds it: it
   * made it, or sealed or synced with it since), `waiting` (sealed to it, not confirmed yet), `never`
   * (a keeper, which stores the workspace sealed and is never given a key).
   */
  key: z.enum(['current', 'waiting', 'never']),
})
export type MemberInfo = z.output<typeof memberInfoSchema>

/**
 * Who has the workspace's current content key. After a removal (or a leave, or a demotion to keeper)
 * the key changes; until every remaining reader has the new one, `waiting` says who may still seal
 * with the old one, which the removed device can read.
 */
export const keyStatusSchema = z.object({
  /** The current epoch; null before the workspace's first key. */
  epochId: z.string().nullable(),
  /** When the current key was made. */
  since: time.nullable(),
  /** Devices that held the previous key and no longer read (removed, left, made keepers). */
  dropped: z.array(z.object({ deviceId: deviceIdSchema, name: z.string() })),
  /** Devices that should hold the key (every member but keepers), this one included. */
  readers: count,
  /** Of those, how many have shown they hold it. */
  confirmed: count,
  /** The readers not confirmed yet. */
  waiting: z.array(z.object({ deviceId: deviceIdSchema, name: z.string(), online: z.boolean(), lastSeen: time.nullable() })),
})
export type KeyStatus = z.output<typeof keyStatusSchema>

export const documentSummarySchema = z.object({
  id: idSchema,
  workspaceId: idSchema,
  title: z.string(),
  createdAt: time,
  lastChangeAt: time,
  lastChangeBy: deviceIdSchema.nullable(),
  lastChangeByName: z.string().nullable(),
  deleted: z.boolean(),
  /** Changed by a teammate since this device last had it open. */
  unread: z.boolean(),
  /** A text document or a task board (shared/board.ts); absent from older peers: text. */
  kind: z.enum(DOC_KINDS).default('text'),
})
export type DocumentSummary = z.output<typeof documentSummarySchema>

export const peerInfoSchema = z.object({
  peerId: deviceIdSchema,
  /** The member's display name where the peer is a member of one of our workspaces. */
  name: z.string().nullable(),
  member: z.boolean(),
  online: z.boolean(),
  addresses: z.array(z.string()),
  /** How this device is connected to it now: on this LAN, direct over the internet, or through a relay. */
  how: z.enum(['lan', 'internet', 'relayed']).nullable(),
  /** The relay it is reached through (`how` is 'relayed'), and that relay's name where it is a member. */
  relayedBy: deviceIdSchema.nullable(),
  relayedByName: z.string().nullable(),
  /** Why a member is not connected, in words (null while it is). */
  unreachable: z.string().nullable(),
  /** The round trip to it, as the last catch-up with it measured (its first exchange), in ms. */
  rttMs: z.number().nonnegative().nullable(),
  /** Documents it is known not to hold as this device holds them (newest change first, at most MAX_BEHIND_LISTED). */
  behind: z.array(z.object({ docId: idSchema, title: z.string() })),
  /** How many documents that is in all (`behind` may list fewer). */
  behindCount: z.number().int().nonnegative(),
  lastSeen: time.nullable(),
  lastSyncAt: time.nullable(),
})
export type PeerInfo = z.output<typeof peerInfoSchema>

/** A document found by search (`search.query`). */
export const searchHitSchema = z.object({
  docId: idSchema,
  workspaceId: idSchema,
  title: z.string(),
  /** A few words around the best hit, in order; the matching words have `hit`. */
  parts: z.array(z.object({ text: z.string(), hit: z.boolean() })),
  /** Where in the text the first hit starts (characters), to open the document there; null: it is in the title. */
  at: z.number().int().nonnegative().nullable(),
})
export type SearchHit = z.output<typeof searchHitSchema>

/** What is true of one document's copies, as far as this peer knows. */
export const docSyncStatusSchema = z.object({
  docId: idSchema,
  heads: z.array(headSchema),
  /** Every acknowledged change is in the local database. */
  savedLocally: z.boolean(),
  /** Members (other than this device) known to hold exactly these heads or newer. */
  upToDate: z.array(deviceIdSchema),
  /** Other members of the workspace. */
  otherMembers: count,
  /** Local changes not yet seen by any other member. */
  waitingChanges: count,
  /** When this device last changed the document (null: never). */
  lastOwnEditAt: time.nullable(),
  /** Delivery receipts: what each other member is known to hold of this device's edits. */
  receipts: z.array(
    z.object({
      deviceId: deviceIdSchema,
      name: z.string(),
      /** It holds every change this device holds. */
      upToDate: z.boolean(),
      /** When this device made the newest of its own changes that member is known to hold (null: none). */
      yourEditsAsOf: time.nullable(),
      /** This device's changes it is known to lack. */
      lacking: count,
      online: z.boolean(),
      lastSeen: time.nullable(),
      /** Their UTC offset in minutes, for "their time" (known while they are online). */
      utcOffsetMinutes: utcOffsetMinutesSchema.nullable(),
    }),
  ),
})
export type DocSyncStatus = z.output<typeof docSyncStatusSchema>
export type Receipt = DocSyncStatus['receipts'][number]

/** One editing session of a document's timeline (`doc.history`): one author's changes with no long pause between them. */
export const historySessionSchema = z.object({
  /** Its last change's hash: the document as its author had it at the session's end (`doc.version`, `doc.restore`). */
  version: headSchema,
  /** Who made it (empty: a device this peer cannot name). */
  authorId: z.union([deviceIdSchema, z.literal('')]),
  authorName: z.string(),
  /** It is this device's. */
  own: z.boolean(),
  /** When its first and last changes were made (their author's clock, never later than they arrived here). */
  startedAt: time,
  endedAt: time,
  /** Characters of the text inserted and deleted. */
  inserted: count,
  deleted: count,
  changes: count,
  /** It changed the title. */
  retitled: z.boolean(),
  /** The author's UTC offset in minutes as presence last told it, for "their time" (null: never known). */
  authorUtcOffsetMinutes: utcOffsetMinutesSchema.nullable(),
})
export type HistorySession = z.output<typeof historySessionSchema>

/** A version of a document (`doc.version`), read only, with what changed since marked on it. */
export const docVersionSchema = z.object({
  docId: idSchema,
  version: headSchema,
  /** The session that ends at it, when it is a session's version. */
  session: historySessionSchema.nullable(),
  title: z.string(),
  text: z.string(),
  /** The document's title now. */
  titleNow: z.string(),
  /** Ranges [from, to) of this version's text that the text now no longer has. */
  removed: z.array(z.tuple([count, count])),
  /** Text the document has now that this version had not, at a position of this version's text. */
  added: z.array(z.object({ at: count, text: z.string() })),
})
export type DocVersion = z.output<typeof docVersionSchema>

/** "While you were away" (`workspace.digest`): what teammates did in a workspace since this device last looked. */
export const workspaceDigestSchema = z.object({
  workspaceId: idSchema,
  /** New members and new documents are those since this time (ms). */
  since: time,
  documents: z.array(
    z.object({
      docId: idSchema,
      title: z.string(),
      /** Made since, by someone else. */
      created: z.boolean(),
      deleted: z.boolean(),
      /** Who changed it since this device read it (or since `since`, when asked so), and how much. */
      authors: z.array(z.object({ deviceId: deviceIdSchema, name: z.string(), inserted: count, deleted: count, changes: count })),
      /** Passages two or more people edited concurrently (neither had the other's change), where they are now. */
      passages: z.array(z.object({ from: count, to: count, authors: z.array(z.string()), excerpt: z.string() })),
      /** False: too many changes to compare for concurrent passages (the counts still cover all). */
      compared: z.boolean(),
      /** The heads this device read it at (null: never read); what the editor marks as new is what came after. */
      readHeads: z.array(headSchema).nullable(),
    }),
  ),
  members: z.array(z.object({ deviceId: deviceIdSchema, name: z.string(), role, addedAt: time })),
})
export type WorkspaceDigest = z.output<typeof workspaceDigestSchema>

export const inviteInfoSchema = z.object({
  /** For `invite.revoke`; the code itself is shown once and never kept. */
  id: idSchema,
  workspaceId: idSchema,
  code: z.string(),
  link: z.string(),
  expiresAt: time,
  role,
  /** A join with it waits for someone at this device to accept it (`join.decide`). */
  needsApproval: z.boolean(),
})
export type InviteInfo = z.output<typeof inviteInfoSchema>

/**
 * Where an invite stands: `open` until it is used, declined (a join with it was turned down: it
 * cannot raise another request), revoked, or expired. The first of these that happened wins.
 */
export const INVITE_STATES = ['open', 'used', 'declined', 'revoked', 'expired'] as const
export type InviteState = (typeof INVITE_STATES)[number]

/** An invite this device made, as `invite.list` shows it (never its secret or code). */
export const inviteSummarySchema = z.object({
  id: idSchema,
  workspaceId: idSchema,
  role,
  createdAt: time,
  expiresAt: time,
  needsApproval: z.boolean(),
  state: z.enum(INVITE_STATES),
  /** When it stopped being open (used, declined or revoked); null while open or merely expired. */
  closedAt: time.nullable(),
  /** The device that used it, or whose join was declined. */
  by: deviceIdSchema.nullable(),
  /** That device's name, if it is a member. */
  byName: z.string().nullable(),
})
export type InviteSummary = z.output<typeof inviteSummarySchema>

export const PORT_MAPPING_STATES = ['off', 'not-needed', 'asking', 'mapped', 'no-router', 'refused', 'double-nat'] as const

export const networkInfoSchema = z.object({
  peerId: deviceIdSchema,
  listenAddresses: z.array(z.string()),
  connections: count,
  /** Whether the router forwards a port to this device (UPnP or NAT-PMP), with a sentence saying why or why not. */
  portMapping: z.object({ state: z.enum(PORT_MAPPING_STATES), text: z.string().max(600) }),
  /**
   * Whether teammates reach this device directly, from what they did: one connected in from the internet
   * (`internet`) or from this network (`lan`); none yet (`unconfirmed`, a guess from its addresses); or
   * it listens on loopback only (`local`).
   */
  reachability: z.object({ state: z.enum(['internet', 'lan', 'unconfirmed', 'local']), text: z.string().max(600) }),
})

/** Where a teammate is and what they have selected; ephemeral, never stored. */
export const presenceInfoSchema = z.object({
  workspaceId: idSchema,
  deviceId: deviceIdSchema,
  name: eventName,
  /** The document they have open, if any. */
  docId: idSchema.nullable(),
  /** Their selection, if they have a document open. */
  cursor: cursorSchema.nullable(),
  /** For "their local time". */
  utcOffsetMinutes: utcOffsetMinutesSchema,
  /** When this was last heard. */
  at: time,
})
export type PresenceInfo = z.output<typeof presenceInfoSchema>

/** A device asking to join with an invite that needs the inviter's approval. */
export const joinRequestInfoSchema = z.object({
  requestId: idSchema,
  /** The invite presented (see `invite.list`). */
  inviteId: idSchema,
  workspaceId: idSchema,
  workspaceName: eventName,
  deviceId: deviceIdSchema,
  name: eventName,
  /** The joiner's safety words: the inviter compares them with what the joiner's screen shows. */
  safetyWords: eventSafetyWords,
})
export type JoinRequestInfo = z.output<typeof joinRequestInfoSchema>

/** What an invite code says, read without contacting anyone. */
export const inviteDetailsSchema = z.object({
  workspaceId: idSchema,
  workspaceName: z.string(),
  inviterId: deviceIdSchema,
  inviterSafetyWords: z.string(),
  expiresAt: time,
  needsApproval: z.boolean(),
  /** This device's own safety words, to read out to the inviter. */
  mySafetyWords: z.string(),
})
export type InviteDetails = z.output<typeof inviteDetailsSchema>
