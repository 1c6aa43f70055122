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
  MAX_RUN_CHANGES,
  MAX_COVER_CHANGES,
  MAX_COVER_DEPS_BYTES,
  MAX_CHANGES_PER_MESSAGE,
  MAX_HEADS,
  MAX_HEADS_ANNOUNCED_DOCS,
  MAX_INVITE_ADDRS,
  MAX_ADDRESS_CHARS,
  MAX_ADDRESS_RECORDS,
  MAX_ANNOUNCED_ADDRS,
  MAX_NAME_CHARS,
  MAX_SUMMARY_DOCS,
  MAX_REACH_LISTED,
} from '../../../shared/limits.ts'
import { HAVE_DIGEST_BYTES, HAVE_SALT_BYTES, MAX_HAVE } from '../sync/ancestry.ts'
import { FINGERPRINT_BYTES } from '../sync/reconcile.ts'
import { ERROR_CODES } from '../../../shared/protocol.ts'
import { cursorSchema, deviceIdSchema, headSchema, idSchema, utcOffsetMinutesSchema } from '../../../shared/types.ts'

/**
 * The `v` of gossip messages and of the catch-up summary (`hi`): the shape of changes, ops and
 * presence; a peer cannot read a later version's messages and drops them without blame (`decodeGossip`),
 * and refuses an earlier version's. 2: a change carries the membership heads it
 * was signed under (`m`), in a v2 signature. 3: content is sealed with the workspace's epoch key
 * (changes carry `e`, `h`, `d`; presence is one sealed value). 4: runs (`n`: several changes of one
 * author sealed and signed together; sync/runs.ts). 5: covers (`k`, `kd`: several changes of one author
 * that were sent alone, sealed and signed together, each one's hash and deps in clear; sync/covers.ts), which
 * a version-4 peer would take for runs whose signature fails. The catch-up frames themselves are
 * versioned by their protocol id (`CATCHUP_PROTOCOL`): gossip did not change with them. Heads and
 * presence later gained their sender's signature (`o`, `s`) within 4: an older parser drops keys it does
 * not know, and a message without them is still taken where its sender is known (the live path).
 */
export const PEER_PROTOCOL_VERSION = 5
/** The `v` of join requests and invite codes, whose shape did not change: codes handed out stay valid. */
const JOIN_VERSION = 1
/**
 * Catch-up 2: a digest of the whole workspace first, range-based reconciliation of the documents,
 * then heads and have-sets before changes (sync/catchup.ts). Its frames share nothing with catch-up 1,
 * so it has its own protocol id: a peer of an older version cannot negotiate it (the dialer says so),
 * and its own dials of catch-up 1 are answered with a refusal that says why (`CATCHUP_1_PROTOCOL`).
 */
export const CATCHUP_PROTOCOL = '/grapevine/catchup/2.0.0'
export const CATCHUP_1_PROTOCOL = '/grapevine/catchup/1.0.0'
export const JOIN_PROTOCOL = '/grapevine/join/1.0.0'
/**
 * The live path (sync/live.ts): one stream from a device to each connected teammate carrying the same
 * messages as the workspace topics (`gossipMessage`), length-prefixed. A peer without it gets gossip only.
 */
export const LIVE_PROTOCOL = '/grapevine/live/1.0.0'
/**
 * Addresses (net/address-book.ts): on connecting, and when they change, members hand each other the
 * signed address records of the devices they share a workspace with. One frame per stream.
 */
export const ADDRS_PROTOCOL = '/grapevine/addrs/1.0.0'
/**
 * A workspace's gossipsub topic. 2: messages carry no gossipsub signature (StrictNoSign, ids by content,
 * net/node.ts); topic 1 was StrictSign. The two never meet on one topic, where each policy would refuse the
 * other's every message and score its sender down; across versions, teammates still reach each other by the
 * live path and catch-up.
 */
export const workspaceTopic = (workspaceId: string): string => `/grapevine/ws/${workspaceId}/2`

/**
 * Why a message was refused: over its size cap, not what it claims to be (CBOR, shape), or a well-formed
 * message of a later version than this one (`decodeGossip`), which is nobody's fault.
 */
type WireErrorKind = 'too-large' | 'malformed' | 'newer'

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
 *
 * With `n` (v4): a run, `n` consecutive changes of its author sealed together as one Automerge bundle
 * in `c`, signed once (sync/runs.ts); `h` is its last change's hash, `d` its first change's deps.
 *
 * With `n`, `k` and `kd` (v5): a cover, `n` changes of its author that were sent alone before, sealed
 * together as one Automerge bundle and signed once (sync/covers.ts). `k` is every covered change's hash
 * (32 bytes each, in the bundle's order), `kd` every covered change's deps as references (covers.ts
 * `encodeCoverDeps`), `d` the deps outside the cover, `h` the last covered hash: a keeper knows each
 * covered change as it knows an envelope's, without opening it.
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
    n: z.number().int().min(2).max(MAX_RUN_CHANGES).optional(),
    k: z
      .custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes expected')
      .refine((b) => b.byteLength % 32 === 0 && b.byteLength <= 32 * MAX_COVER_CHANGES, `32-byte hashes, at most ${MAX_COVER_CHANGES}`)
      .optional(),
    kd: bin(MAX_COVER_DEPS_BYTES).optional(),
  })
  .refine(
    (c) => (c.e === undefined ? c.h === undefined && c.d === undefined : c.h !== undefined && c.d !== undefined && c.m !== undefined),
    {
      message: 'a sealed change carries e, h, d and m together',
    },
  )
  .refine((c) => c.n === undefined || c.e !== undefined, { message: 'a run is sealed' })
  .refine((c) => (c.k === undefined) === (c.kd === undefined) && (c.k === undefined || c.k.byteLength === 32 * (c.n ?? 0)), {
    message: 'a cover carries n, k (32 bytes a change) and kd together',
  })
export type SignedChange = z.infer<typeof signedChange>
/** One membership operation with its author's signature. */
const signedOp = z.object({ a: deviceId, s: binExact(64), b: bin(MAX_OP_BYTES) })
export type SignedOp = z.infer<typeof signedOp>

export const gossipMessage = z.discriminatedUnion('t', [
  /** New changes to one document. */
  z.object({ t: z.literal('changes'), v: version, ws: id, doc: id, items: z.array(signedChange).min(1).max(MAX_CHANGES_PER_MESSAGE) }),
  /**
   * What the sender holds now of some documents (for "on 3 of 4 teammates"). `o` is the sender and `s` its
   * signature (`originPayload` in sync/gossip.ts): gossip has no signature of its own, and a forwarder must
   * not be able to speak for another. Both are absent only from an older version, which sends them over the
   * live path alone, whose remote peer is the sender.
   */
  z.object({
    t: z.literal('heads'),
    v: version,
    ws: id,
    docs: z.array(z.tuple([id, heads])).max(MAX_HEADS_ANNOUNCED_DOCS),
    o: deviceId.optional(),
    s: binExact(64).optional(),
  }),
  /** Membership operations. */
  z.object({ t: z.literal('members'), v: version, ws: id, ops: z.array(signedOp).min(1).max(1024) }),
  /** Where the sender is (ephemeral): a `presencePlain` sealed under the key of epoch `e`; `o` and `s` as for heads. */
  z.object({
    t: z.literal('presence'),
    v: version,
    ws: id,
    e: binExact(16),
    p: bin(4096),
    o: deviceId.optional(),
    s: binExact(64).optional(),
  }),
  /**
   * Live path only (sync/reach.ts): the members of `ws` the sender has a connection to now. Its sender is the
   * stream's remote peer (Noise proves it), so it carries no signature, and it is refused from the topic.
   */
  z.object({ t: z.literal('reach'), v: version, ws: id, to: z.array(deviceId).max(MAX_REACH_LISTED) }),
])
export type GossipMessage = z.infer<typeof gossipMessage>

const GOSSIP_TYPES: ReadonlySet<string> = new Set(gossipMessage.options.map((o) => o.shape.t.value))
/** Longest `t` read as a message type of a later version; a longer one is malformed. */
const MAX_TYPE_CHARS = 32

/**
 * A gossip or live message: size cap, CBOR decode, schema check, as `decodeMessage`. A message this version
 * cannot read because a later one wrote it fails as `newer`, not `malformed`: a CBOR map whose `t` is a
 * short string naming no type known here, or whose `v` is a whole number above `PEER_PROTOCOL_VERSION`.
 * Teammates upgrade at different times, and a later version may add a message (as this one added `reach`);
 * the receiver drops such a message without blaming its sender, and keeps the stream it came on.
 */
export function decodeGossip(data: Uint8Array, maxBytes: number, what: string): GossipMessage {
  const value = decodeCbor(data, maxBytes, what)
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    const { t, v } = value as { t?: unknown; v?: unknown }
    const unknownType = typeof t === 'string' && t.length > 0 && t.length <= MAX_TYPE_CHARS && !GOSSIP_TYPES.has(t)
    const laterVersion = typeof t === 'string' && Number.isSafeInteger(v) && (v as number) > PEER_PROTOCOL_VERSION
    if (unknownType || laterVersion)
      throw new WireError('newer', `${what}: of a later version (type ${JSON.stringify(t)}, version ${String(v)}), not readable here`)
  }
  return checkShape(gossipMessage, value, what)
}

/** What a presence message holds once opened: the open document, the selection (Automerge cursors), the clock. */
export const presencePlain = z.object({
  doc: id.nullable(),
  cursor: cursorSchema.nullable(),
  utc: utcOffsetMinutesSchema,
  /** When it was sent (ms): a replayed presence is older than the one held. */
  at: z.number().int().nonnegative(),
})
export type PresencePlain = z.infer<typeof presencePlain>

/** An id in a catch-up frame: 16 bytes when it is 32 hex digits (sync/reconcile.ts `packId`), else the id. */
const wireId = z.union([binExact(16), id])
/** Heads in a catch-up frame: change hashes as 32 bytes each. */
const binHeads = z.array(binExact(32)).max(MAX_HEADS)
/** An exclusive upper bound of a reconciliation range (a prefix of an id), or null: to the end. */
const bound = z.union([
  z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_-]+$/, 'not an id prefix'),
  z.null(),
])
/** Entries of one list or diff range; longer ones are cut into several ranges by the sender. */
export const MAX_RANGE_ENTRIES = 1024
/** Ranges in one `rc` frame; a longer message travels in parts (`m`). */
export const MAX_RANGES_PER_FRAME = 16_384
const listed = z.tuple([wireId, binHeads])
/** One range of a reconciliation message, `[bound, mode, ...]`: skip, fingerprint, list, diff (sync/reconcile.ts). */
const range = z.union([
  z.tuple([bound, z.literal(0)]),
  z.tuple([bound, z.literal(1), binExact(FINGERPRINT_BYTES)]),
  z.tuple([bound, z.literal(2), z.array(listed).max(MAX_RANGE_ENTRIES)]),
  z.tuple([bound, z.literal(3), z.array(listed).max(MAX_RANGE_ENTRIES), z.array(wireId).max(MAX_RANGE_ENTRIES)]),
])
/** A have-set (sync/ancestry.ts): a salt and the salted digests of the changes it names. */
const have = z.object({
  s: binExact(HAVE_SALT_BYTES),
  d: bin(MAX_HAVE * HAVE_DIGEST_BYTES).refine(
    (b) => b.byteLength % HAVE_DIGEST_BYTES === 0,
    `a multiple of ${HAVE_DIGEST_BYTES} bytes expected`,
  ),
})
/** "Send me what I lack of this document": the heads the sender holds, and its have-set when it does not know the other's heads. */
const headsRequest = z.object({ i: wireId, h: binHeads, have: have.optional() })
export type WireHeadsRequest = z.infer<typeof headsRequest>
const refuseCodes = ['not-member', 'busy', 'version', 'bad-frame'] as const

/**
 * Catch-up 2 (CATCHUP_PROTOCOL), over one stream; D the dialer, R the responder:
 *
 *   D → R  hi       the workspace and a digest of its documents' heads (16 bytes) and its membership ops (16)
 *   R → D  eq       the same digest: done (one short frame each way)
 *     or   ops*     every op of R's, when the ops' half differs
 *          rc       R's answer to the documents' half, which differed (empty if it did not): reconciliation
 *                   of the documents, `rc` both ways until D (which learns the difference) has nothing to ask
 *   D → R  ops?     the ops R lacked
 *          changes* what R lacks of documents D knows R's heads of (or R lacks)
 *          heads*   requests for the others (D's heads, and its have-set); end
 *   R → D  changes* what D asked for, heads* requests for documents R still lacks changes of; end
 *   D → R  changes* (only if R asked) what R asked for; end
 */
export const catchupFrame = z.discriminatedUnion('t', [
  /** D → R: `v` is PEER_PROTOCOL_VERSION (the shape of changes); `w` the workspace; `d` the digest of its state here. */
  z.object({ t: z.literal('hi'), v: z.number().int().nonnegative(), w: wireId, d: binExact(32) }),
  /** R → D: the digest is R's too. */
  z.object({ t: z.literal('eq') }),
  /** Reconciliation, either way: `r` ranges; `m` more parts of this message follow. */
  z.object({ t: z.literal('rc'), m: z.literal(true).optional(), r: z.array(range).max(MAX_RANGES_PER_FRAME) }),
  /** Membership ops: R's all (their digests differed), then D's that R lacked. */
  z.object({ t: z.literal('ops'), ops: z.array(signedOp).max(4096) }),
  /** Either way: changes of one document the other side lacks. */
  z.object({ t: z.literal('changes'), doc: wireId, items: z.array(signedChange).max(8192) }),
  /** Either way: documents the sender lacks changes of, with its heads (and have-set). */
  z.object({ t: z.literal('heads'), docs: z.array(headsRequest).max(MAX_SUMMARY_DOCS) }),
  /** End of one side's turn. */
  z.object({ t: z.literal('end') }),
  /** The other side refuses, and why; `busy`: it runs a session with this peer for the workspace already. */
  z.object({ t: z.literal('refuse'), code: z.enum(refuseCodes).optional(), reason: z.string().max(500) }),
])
export type CatchupFrame = z.infer<typeof catchupFrame>

/**
 * Where device `d` can be reached, signed by it (`addressRecordPayload`): `q` counts its records, so
 * a newer one replaces an older one whichever way each travelled; `a` are multiaddrs without /p2p.
 */
export const addressRecord = z.object({
  d: deviceId,
  q: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  a: z.array(z.string().min(1).max(MAX_ADDRESS_CHARS)).max(MAX_ANNOUNCED_ADDRS),
  s: binExact(64),
})
export type AddressRecord = z.infer<typeof addressRecord>
export const ADDRS_VERSION = 1
/** `w`: the sender has just come to know the receiver as a teammate, and asks for every record it may know. */
export const addrsFrame = z.object({
  v: z.literal(ADDRS_VERSION),
  r: z.array(addressRecord).max(MAX_ADDRESS_RECORDS),
  w: z.boolean().optional(),
})
/** An address frame at its largest: every record full. */
export const MAX_ADDRS_FRAME_BYTES = MAX_ADDRESS_RECORDS * (MAX_ANNOUNCED_ADDRS * (MAX_ADDRESS_CHARS + 3) + 200) + 64

/** What a device signs to say where it is: domain tag, device, count, then each address length-prefixed. */
export function addressRecordPayload(r: { d: string; q: number; a: string[] }): Uint8Array {
  const parts: Buffer[] = [Buffer.from(`grapevine/addrs/${ADDRS_VERSION}\0${r.d}\0`)]
  const q = Buffer.alloc(8)
  q.writeBigUInt64BE(BigInt(r.q))
  parts.push(q)
  for (const a of r.a) {
    const bytes = Buffer.from(a)
    const len = Buffer.alloc(2)
    len.writeUInt16BE(bytes.byteLength)
    parts.push(len, bytes)
  }
  return Buffer.concat(parts)
}

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
  return checkShape(schema, decodeCbor(data, maxBytes, what), what)
}

function decodeCbor(data: Uint8Array, maxBytes: number, what: string): unknown {
  if (data.byteLength > maxBytes) throw new WireError('too-large', `${what}: ${data.byteLength} bytes is over the ${maxBytes}-byte limit`)
  try {
    return decode(data, { rejectDuplicateMapKeys: true })
  } catch (err) {
    throw new WireError('malformed', `${what}: not valid CBOR (${(err as Error).message})`)
  }
}

function checkShape<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new WireError('malformed', `${what}: malformed (${issue?.path.join('.') ?? ''} ${issue?.message ?? ''})`)
  }
  return parsed.data
}
