/**
 * Membership ops: their shapes, signatures and verification. Each op is CBOR, signed by its author
 * under a domain tag; the workspace id is the hash of its `create` op. `resolve.ts` turns a set of
 * verified ops into a membership; `membership.ts` keeps the ops a peer holds.
 */
import { decode, encode } from 'cborg'
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { deviceIdSchema, ROLES } from '../../../shared/types.ts'
import { MAX_LOCKBOXES_PER_OP, MAX_NAME_CHARS } from '../../../shared/limits.ts'
import { CHAIN_BOX_BYTES } from '../crypto/epoch.ts'
import { LOCKBOX_BYTES } from '../crypto/lockbox.ts'
import { SEAL_OVERHEAD } from '../crypto/seal.ts'
import type { Device } from '../identity/device.ts'
import { sha256, signPayload, verifyPayload } from '../identity/keys.ts'
import type { SignedOp } from '../wire/peer-protocol.ts'

const deviceId = deviceIdSchema
/** A name in clear ('' when it travels sealed, in `sn`; see `verifyOp`). */
const name = z.string().max(MAX_NAME_CHARS)
const prev = z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(64)
/** An epoch id: 16 random bytes, hex, chosen before the lockboxes that bind it are sealed. */
const epochId = z.string().regex(/^[0-9a-f]{32}$/)
const bytesOf = (n: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength === n, `${n} bytes expected`)
/** The epoch key sealed to each device (HPKE lockboxes), one entry per device. */
const boxes = z
  .array(z.tuple([deviceId, bytesOf(LOCKBOX_BYTES)]))
  .max(MAX_LOCKBOXES_PER_OP)
  .refine((b) => new Set(b.map(([d]) => d)).size === b.length, 'one lockbox per device')
/**
 * A name sealed under the key of epoch `e` (crypto/seal.ts; kind 'member' with the named device as
 * subject, or 'title' with the workspace id), by the op's author: what members see of each other's
 * names, and what a keeper never reads.
 */
const sealedName = z.object({
  e: epochId,
  c: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength <= MAX_NAME_CHARS * 4 + SEAL_OVERHEAD, 'a sealed name'),
})
export type SealedName = z.infer<typeof sealedName>
/** What every op but `create` carries: its workspace, author, time and the ops its author had seen. */
const afterCreate = { v: z.literal(1), ws: z.string(), by: deviceId, at: z.number(), prev }
const opBody = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('create'),
    v: z.literal(1),
    by: deviceId,
    at: z.number(),
    name,
    memberName: name,
    nonce: z.custom<Uint8Array>((v) => v instanceof Uint8Array),
  }),
  z.object({
    type: z.literal('add'),
    ...afterCreate,
    member: deviceId,
    name,
    sn: sealedName.optional(),
    role: z.enum(ROLES),
  }),
  z.object({ type: z.literal('remove'), ...afterCreate, member: deviceId }),
  z.object({
    type: z.literal('role'),
    ...afterCreate,
    member: deviceId,
    role: z.enum(ROLES),
  }),
  z.object({
    type: z.literal('name'),
    ...afterCreate,
    name,
    sn: sealedName.optional(),
  }),
  /** The workspace's name (admins); sealed like members' names. A new workspace's `create` op names nothing. */
  z.object({
    type: z.literal('title'),
    ...afterCreate,
    name,
    sn: sealedName.optional(),
  }),
  /**
   * A new epoch key (a rotation, or the first): sealed to each reading device, and every older key
   * its author holds that no other epoch in its past links, sealed under the new one (chain links),
   * so whoever holds the newest key reads all history.
   */
  z.object({
    type: z.literal('epoch'),
    ...afterCreate,
    epoch: epochId,
    boxes,
    links: z.array(z.tuple([epochId, bytesOf(CHAIN_BOX_BYTES)])).max(64),
  }),
  /** An existing epoch key sealed to devices that lack it (a member added since, or concurrently). */
  z.object({ type: z.literal('grant'), ...afterCreate, epoch: epochId, boxes }),
])
export type OpBody = z.infer<typeof opBody>
type OpInput = OpBody extends infer B ? (B extends { type: 'create' } ? never : Omit<B, 'v' | 'ws' | 'by' | 'at' | 'prev'>) : never

const payload = (ws: string, hash: string): Buffer => Buffer.from(`grapevine/member/1\n${ws}\n${hash}`)
const hashOf = (bytes: Uint8Array): string => sha256(bytes).toString('hex')
const workspaceIdOf = (createHash: string): string => createHash.slice(0, 32)

export interface VerifiedOp {
  hash: string
  body: OpBody
  op: SignedOp
}

/** Checks an op's shape, signature and workspace; null when it is not valid for this workspace. */
export function verifyOp(workspaceId: string, op: SignedOp): VerifiedOp | null {
  let body: OpBody
  try {
    const parsed = opBody.safeParse(decode(op.b, { rejectDuplicateMapKeys: true }))
    if (!parsed.success) return null
    body = parsed.data
  } catch {
    return null
  }
  const hash = hashOf(op.b)
  if (body.by !== op.a) return null
  // A name is given in clear or sealed, never neither (a new `create` op names nothing: `title` and `name` follow).
  if ((body.type === 'add' || body.type === 'name' || body.type === 'title') && body.name === '' && !body.sn) return null
  if (body.type === 'create' ? workspaceIdOf(hash) !== workspaceId : body.ws !== workspaceId) return null
  if (!verifyPayload(op.a, payload(workspaceId, hash), op.s)) return null
  return { hash, body, op }
}

function signOp(device: Device, workspaceId: string, body: OpBody): VerifiedOp {
  const b = encode(body)
  const hash = hashOf(b)
  const ws = body.type === 'create' ? workspaceIdOf(hash) : workspaceId
  return { hash, body, op: { a: device.deviceId, s: signPayload(device.signingKey, payload(ws, hash)), b } }
}

export function createWorkspaceOp(device: Device, workspaceName: string, memberName: string): { workspaceId: string; op: VerifiedOp } {
  const op = signOp(device, '', {
    type: 'create',
    v: 1,
    by: device.deviceId,
    at: Date.now(),
    name: workspaceName,
    memberName,
    nonce: randomBytes(16),
  })
  return { workspaceId: workspaceIdOf(op.hash), op }
}

/** A new op by `device`; `prev` are the heads of the op graph its author knows (see `heads`). */
export function makeOp(device: Device, workspaceId: string, input: OpInput, prev: string[] = []): VerifiedOp {
  return signOp(device, workspaceId, { ...input, v: 1, ws: workspaceId, by: device.deviceId, at: Date.now(), prev } as OpBody)
}

export const prevOf = (o: VerifiedOp): string[] => (o.body.type === 'create' ? [] : o.body.prev)

/** The ops no other op names as seen: what a new op should name as `prev`, and a change as `m`. */
export function heads(ops: Iterable<VerifiedOp>): string[] {
  const all = [...ops]
  const seen = new Set(all.flatMap(prevOf))
  return all
    .filter((o) => o.body.type !== 'create' && !seen.has(o.hash))
    .map((o) => o.hash)
    .sort()
    .slice(0, MAX_MEMBERSHIP_HEADS)
}

/** At most this many heads are named in a `prev` or a change's `m`. */
export const MAX_MEMBERSHIP_HEADS = 64
