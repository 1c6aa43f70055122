/**
 * Membership of a workspace as a set of signed operations. The workspace id is the hash of its
 * `create` op, so nobody can forge another genesis for the same id. Each op names the ops its
 * author had seen (`prev`), so the ops form a causal graph. State is the replay of the ops in a
 * topological order (ties by time, then hash), each taking effect only if its author held the
 * right role at that point; an op concurrent with its author's removal never takes effect
 * ("removal wins"), so a removed admin cannot act by back-dating or by pretending not to know.
 */
import { decode, encode } from 'cborg'
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { ADMIN_ROLES, deviceIdSchema, ROLES, type Role } from '../../../shared/types.ts'
import { MAX_NAME_CHARS } from '../../../shared/limits.ts'
import type { Device } from '../identity/device.ts'
import { sha256, signPayload, verifyPayload } from '../identity/keys.ts'
import type { SignedOp } from '../wire/peer-protocol.ts'

const deviceId = deviceIdSchema
const name = z.string().min(1).max(MAX_NAME_CHARS)
const prev = z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(64)
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
    v: z.literal(1),
    ws: z.string(),
    by: deviceId,
    at: z.number(),
    prev,
    member: deviceId,
    name,
    role: z.enum(ROLES),
  }),
  z.object({ type: z.literal('remove'), v: z.literal(1), ws: z.string(), by: deviceId, at: z.number(), prev, member: deviceId }),
  z.object({
    type: z.literal('role'),
    v: z.literal(1),
    ws: z.string(),
    by: deviceId,
    at: z.number(),
    prev,
    member: deviceId,
    role: z.enum(ROLES),
  }),
  z.object({ type: z.literal('name'), v: z.literal(1), ws: z.string(), by: deviceId, at: z.number(), prev, name }),
])
export type OpBody = z.infer<typeof opBody>
type OpInput = OpBody extends infer B ? (B extends { type: 'create' } ? never : Omit<B, 'v' | 'ws' | 'by' | 'at' | 'prev'>) : never

export interface Member {
  deviceId: string
  name: string
  role: Role
  addedBy: string
  addedAt: number
}
export interface MembershipState {
  workspaceId: string
  name: string
  ownerId: string
  createdAt: number
  members: Map<string, Member>
}

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

const prevOf = (o: VerifiedOp): string[] => (o.body.type === 'create' ? [] : o.body.prev)

/** The ops no other op names as seen: what a new op should name as `prev`. */
export function heads(ops: VerifiedOp[]): string[] {
  const seen = new Set(ops.flatMap(prevOf))
  return ops
    .filter((o) => o.body.type !== 'create' && !seen.has(o.hash))
    .map((o) => o.hash)
    .sort()
    .slice(0, 64)
}

/** Replays verified ops into the membership; null when the `create` op is missing. */
export function replay(workspaceId: string, ops: VerifiedOp[]): MembershipState | null {
  return replayOps(workspaceId, ops)?.state ?? null
}

/** The membership, and which ops took effect (ops waiting for an unseen `prev` do not). */
export function replayOps(workspaceId: string, ops: VerifiedOp[]): { state: MembershipState; applied: Set<string> } | null {
  const create = ops.find((o) => o.body.type === 'create')
  if (create?.body.type !== 'create') return null
  const byHash = new Map(ops.map((o) => [o.hash, o]))
  // Ancestors of each op whose whole causal past is here; ops missing any ancestor are left out.
  const ancestors = new Map<string, Set<string> | null>()
  const past = (hash: string, depth = 0): Set<string> | null => {
    if (ancestors.has(hash)) return ancestors.get(hash)!
    const op = byHash.get(hash)
    let result: Set<string> | null = op && depth < 4096 ? new Set() : null
    for (const p of op ? prevOf(op) : []) {
      const pp = past(p, depth + 1)
      if (!pp || !result) {
        result = null
        break
      }
      result.add(p)
      for (const a of pp) result.add(a)
    }
    ancestors.set(hash, result)
    return result
  }
  const order = ops
    .filter((o) => o.body.type !== 'create' && past(o.hash) !== null)
    .sort((x, y) => past(x.hash)!.size - past(y.hash)!.size || x.body.at - y.body.at || (x.hash < y.hash ? -1 : x.hash > y.hash ? 1 : 0))
  // Sorting by the size of the causal past is a topological order: an op's past strictly contains its parents'.
  const run = (skip: (o: VerifiedOp) => boolean) => {
    const state: MembershipState = {
      workspaceId,
      name: create.body.type === 'create' ? create.body.name : '',
      ownerId: create.body.by,
      createdAt: create.body.at,
      members: new Map([
        [
          create.body.by,
          {
            deviceId: create.body.by,
            name: create.body.type === 'create' ? create.body.memberName : '',
            role: 'owner' as Role,
            addedBy: create.body.by,
            addedAt: create.body.at,
          },
        ],
      ]),
    }
    const applied = new Set([create.hash])
    for (const o of order) if (!skip(o) && applyOp(state, o.body)) applied.add(o.hash)
    return { state, applied }
  }
  const first = run(() => false)
  const removals = order.filter((o) => o.body.type === 'remove' && first.applied.has(o.hash))
  const concurrent = (a: VerifiedOp, b: VerifiedOp): boolean =>
    !past(a.hash)!.has(b.hash) && !past(b.hash)!.has(a.hash) && a.hash !== b.hash
  return run((o) => removals.some((r) => r.body.type === 'remove' && r.body.member === o.body.by && concurrent(o, r)))
}

function applyOp(state: MembershipState, body: OpBody): boolean {
  const author = state.members.get(body.by)
  if (!author) return false
  const isAdmin = ADMIN_ROLES.includes(author.role)
  switch (body.type) {
    case 'add':
      if (!isAdmin || body.role === 'owner' || state.members.has(body.member)) return false
      state.members.set(body.member, { deviceId: body.member, name: body.name, role: body.role, addedBy: body.by, addedAt: body.at })
      return true
    case 'remove':
      if (!isAdmin || body.member === state.ownerId || !state.members.has(body.member)) return false
      state.members.delete(body.member)
      return true
    case 'role': {
      const target = state.members.get(body.member)
      if (!isAdmin || !target || body.member === state.ownerId || body.role === 'owner') return false
      target.role = body.role
      return true
    }
    case 'name':
      author.name = body.name
      return true
    case 'create':
      return false
  }
}
