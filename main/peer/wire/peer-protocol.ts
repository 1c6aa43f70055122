/**
 * The peer protocol: everything one peer sends another, as CBOR, one schema per message.
 * Gossip messages travel on a workspace's topic; catch-up and join frames on direct streams.
 * Every decoder caps size first, then decodes, then checks shape; any failure is a `WireError`.
 */
import { decode, encode } from 'cborg'
import { z } from 'zod'
import {
  MAX_CHANGE_BYTES,
  MAX_OP_BYTES,
  MAX_CHANGES_PER_MESSAGE,
  MAX_HEADS,
  MAX_HEADS_ANNOUNCED_DOCS,
  MAX_INVITE_ADDRS,
  MAX_NAME_CHARS,
  MAX_SUMMARY_DOCS,
} from '../../../shared/limits.ts'
import { ERROR_CODES } from '../../../shared/protocol.ts'
import { cursorSchema, deviceIdSchema, headSchema, idSchema, utcOffsetMinutesSchema } from '../../../shared/types.ts'

/**
 * The `v` of gossip and catch-up messages; a peer refuses a version it does not know. 2: a change
 * carries the membership heads it was signed under (`m`), in a v2 signature. 3: content is sealed
 * with the workspace's epoch key (changes carry `e`, `h`, `d`; presence is one sealed value).
 */
export const PEER_PROTOCOL_VERSION = 3
/** The `v` of join requests and invite codes, whose shape did not change: codes handed out stay valid. */
const JOIN_VERSION = 1
export const CATCHUP_PROTOCOL = '/grapevine/catchup/1.0.0'
export const JOIN_PROTOCOL = '/grapevine/join/1.0.0'
export const workspaceTopic = (workspaceId: string): string => `/grapevine/ws/${workspaceId}/1`

/** Why a message was refused: over its size cap, or not what it claims to be (CBOR, shape). */
type WireErrorKind = 'too-large' | 'malformed'

export class WireError extends Error {
  readonly kind: WireErrorKind
  constructor(kind: WireErrorKind, message: string) {
    super(message)
    this.name = 'WireError'
    this.kind = kind
  }
}

const id = idSchema
const deviceId = deviceIdSchema
const heads = z.array(headSchema).max(MAX_HEADS)
const version = z.literal(PEER_PROTOCOL_VERSION)
const binExact = (n: number) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes expected').refine((b) => b.byteLength === n, `exactly ${n} bytes expected`)
const bin = (max: number) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes expected').refine((b) => b.byteLength <= max, `over ${max} bytes`)

/**
 * One Automerge change with its author's signature, and `m`: the heads of the membership op graph
 * its author had when signing (op hashes, at most 64), bound by the signature.
 *
 * Sealed (v3, what this version writes): `c` is the change sealed under the key of epoch `e`; `h` is
 * its Automerge hash and `d` its deps, in clear and signed with the rest, so that any member, a keeper
 * too, can check who wrote it and where it sits in the document's history without reading it.
 * Without `e`: a change an older version wrote, in clear (`m` absent: a v1 signature, judged by its
 * author's current role). Such history is still accepted and passed on; nothing new is written so.
 */
const signedChange = z
  .object({
    a: deviceId,
    s: binExact(64),
    c: bin(MAX_CHANGE_BYTES + 64),
    m: z.array(binExact(32)).max(64).optional(),
    e: binExact(16).optional(),
    h: binExact(32).optional(),
    d: z.array(binExact(32)).max(MAX_HEADS).optional(),
  })
  .refine(
    (c) => (c.e === undefined ? c.h === undefined && c.d === undefined : c.h !== undefined && c.d !== undefined && c.m !== undefined),
    {
      message: 'a sealed change carries e, h, d and m together',
    },
  )
export type SignedChange = z.infer<typeof signedChange>
/** One membership operation with its author's signature. */
const signedOp = z.object({ a: deviceId, s: binExact(64), b: bin(MAX_OP_BYTES) })
export type SignedOp = z.infer<typeof signedOp>

export const gossipMessage = z.discriminatedUnion('t', [
  /** New changes to one document. */
  z.object({ t: z.literal('changes'), v: version, ws: id, doc: id, items: z.array(signedChange).min(1).max(MAX_CHANGES_PER_MESSAGE) }),
  /** What the sender holds now of some documents (for "on 3 of 4 teammates"). */
  z.object({ t: z.literal('heads'), v: version, ws: id, docs: z.array(z.tuple([id, heads])).max(MAX_HEADS_ANNOUNCED_DOCS) }),
  /** Membership operations. */
  z.object({ t: z.literal('members'), v: version, ws: id, ops: z.array(signedOp).min(1).max(1024) }),
  /** Where the sender is (ephemeral): a `presencePlain` sealed under the key of epoch `e`. */
  z.object({ t: z.literal('presence'), v: version, ws: id, e: binExact(16), p: bin(4096) }),
])
export type GossipMessage = z.infer<typeof gossipMessage>

/** What a presence message holds once opened: the open document, the selection (Automerge cursors), the clock. */
export const presencePlain = z.object({
  doc: id.nullable(),
  cursor: cursorSchema.nullable(),
  utc: utcOffsetMinutesSchema,
  /** When it was sent (ms): a replayed presence is older than the one held. */
  at: z.number().int().nonnegative(),
})
export type PresencePlain = z.infer<typeof presencePlain>

export const catchupFrame = z.discriminatedUnion('t', [
  /** Dialer → responder: every document with a digest of its heads, and every membership op. */
  z.object({
    t: z.literal('summary'),
    v: version,
    ws: id,
    ops: z.array(signedOp).max(4096),
    docs: z.array(z.tuple([id, bin(16)])).max(MAX_SUMMARY_DOCS),
  }),
  /** Responder → dialer: ops the dialer lacked, and the responder's heads of every document that differs. */
  z.object({ t: z.literal('want'), ops: z.array(signedOp).max(4096), docs: z.array(z.tuple([id, heads])).max(MAX_SUMMARY_DOCS) }),
  /** Either way: changes the other side lacks. */
  z.object({ t: z.literal('changes'), ws: id, doc: id, items: z.array(signedChange).max(8192) }),
  /** Dialer → responder after its changes: its heads of the documents that differ. */
  z.object({ t: z.literal('heads'), docs: z.array(z.tuple([id, heads])).max(MAX_SUMMARY_DOCS) }),
  /** End of one side's changes. */
  z.object({ t: z.literal('end') }),
  /** The other side refuses (not a member, bad frame). */
  z.object({ t: z.literal('refuse'), reason: z.string().max(500) }),
])
export type CatchupFrame = z.infer<typeof catchupFrame>

export const joinRequest = z.object({
  t: z.literal('join'),
  v: z.literal(JOIN_VERSION),
  ws: id,
  invite: id,
  secret: binExact(32),
  name: z.string().min(1).max(MAX_NAME_CHARS),
})
export const joinResponse = z.discriminatedUnion('t', [
  z.object({ t: z.literal('welcome'), ws: id, name: z.string().max(MAX_NAME_CHARS), ops: z.array(signedOp).max(4096) }),
  /** `code` is the error the joiner's client is given. */
  z.object({
    t: z.literal('refuse'),
    code: z.enum(ERROR_CODES).extract(['invite-invalid', 'invite-expired', 'invite-used', 'forbidden']),
    reason: z.string().max(500),
  }),
])
export type JoinResponse = z.infer<typeof joinResponse>

/** Invite payload, carried in the code. */
export const invitePayload = z.object({
  v: z.literal(JOIN_VERSION),
  ws: id,
  name: z.string().max(MAX_NAME_CHARS),
  inviter: deviceId,
  invite: id,
  secret: binExact(32),
  exp: z.number().int().positive(),
  addrs: z.array(z.string().max(256)).max(MAX_INVITE_ADDRS),
  /** The inviter must accept the join (after comparing safety words). */
  ap: z.boolean().optional(),
})
export type InvitePayload = z.infer<typeof invitePayload>

export function encodeMessage(value: unknown): Uint8Array {
  return encode(value)
}

/** Size cap, CBOR decode, schema check. */
export function decodeMessage<T>(schema: z.ZodType<T>, data: Uint8Array, maxBytes: number, what: string): T {
  if (data.byteLength > maxBytes) throw new WireError('too-large', `${what}: ${data.byteLength} bytes is over the ${maxBytes}-byte limit`)
  let value: unknown
  try {
    value = decode(data, { rejectDuplicateMapKeys: true })
  } catch (err) {
    throw new WireError('malformed', `${what}: not valid CBOR (${(err as Error).message})`)
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new WireError('malformed', `${what}: malformed (${issue?.path.join('.') ?? ''} ${issue?.message ?? ''})`)
  }
  return parsed.data
}
