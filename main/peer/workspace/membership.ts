/**
 * Membership of a workspace as a set of signed operations. The workspace id is the hash of its
 * `create` op, so nobody can forge another genesis for the same id. State is the replay of the ops
 * in (time, hash) order, each op taking effect only if its author held the right role at that point.
 */
import { decode, encode } from 'cborg'
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { ADMIN_ROLES, ROLES, type Role } from '../../../shared/types.ts'
import { MAX_NAME_CHARS } from '../../../shared/limits.ts'
import type { Device } from '../identity/device.ts'
import { sha256, signPayload, verifyPayload } from '../identity/keys.ts'
import type { SignedOp } from '../wire/peer-protocol.ts'

const deviceId = z.string().min(10).max(128)
const name = z.string().min(1).max(MAX_NAME_CHARS)
const opBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('create'), v: z.literal(1), by: deviceId, at: z.number(), name, memberName: name, nonce: z.custom<Uint8Array>((v) => v instanceof Uint8Array) }),
  z.object({ type: z.literal('add'), v: z.literal(1), ws: z.string(), by: deviceId, at: z.number(), member: deviceId, name, role: z.enum(ROLES) }),
  z.object({ type: z.literal('remove'), v: z.literal(1), ws: z.string(), by: deviceId, at: z.number(), member: deviceId }),
  z.object({ type: z.literal('role'), v: z.literal(1), ws: z.string(), by: deviceId, at: z.number(), member: deviceId, role: z.enum(ROLES) }),
  z.object({ type: z.literal('name'), v: z.literal(1), ws: z.string(), by: deviceId, at: z.number(), name }),
])
export type OpBody = z.infer<typeof opBody>
type OpInput = OpBody extends infer B ? (B extends { type: 'create' } ? never : Omit<B, 'v' | 'ws' | 'by' | 'at'>) : never

export interface Member { deviceId: string; name: string; role: Role; addedBy: string; addedAt: number }
export interface MembershipState { workspaceId: string; name: string; ownerId: string; createdAt: number; members: Map<string, Member> }

const payload = (ws: string, hash: string): Buffer => Buffer.from(`grapevine/member/1\n${ws}\n${hash}`)
const hashOf = (bytes: Uint8Array): string => sha256(bytes).toString('hex')
const workspaceIdOf = (createHash: string): string => createHash.slice(0, 32)

export interface VerifiedOp { hash: string; body: OpBody; op: SignedOp }

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
    type: 'create', v: 1, by: device.deviceId, at: Date.now(), name: workspaceName, memberName, nonce: randomBytes(16),
  })
  return { workspaceId: workspaceIdOf(op.hash), op }
}

export function makeOp(device: Device, workspaceId: string, input: OpInput): VerifiedOp {
  return signOp(device, workspaceId, { ...input, v: 1, ws: workspaceId, by: device.deviceId, at: Date.now() } as OpBody)
}

/** Replays verified ops into the membership; null when the `create` op is missing. */
export function replay(workspaceId: string, ops: VerifiedOp[]): MembershipState | null {
  const create = ops.find((o) => o.body.type === 'create')
  if (!create || create.body.type !== 'create') return null
  const owner = create.body.by
  const state: MembershipState = {
    workspaceId, name: create.body.name, ownerId: owner, createdAt: create.body.at,
    members: new Map([[owner, { deviceId: owner, name: create.body.memberName, role: 'owner', addedBy: owner, addedAt: create.body.at }]]),
  }
  const rest = ops.filter((o) => o.body.type !== 'create')
    .sort((x, y) => x.body.at - y.body.at || (x.hash < y.hash ? -1 : x.hash > y.hash ? 1 : 0))
  for (const { body } of rest) applyOp(state, body)
  return state
}

function applyOp(state: MembershipState, body: OpBody): void {
  const author = state.members.get(body.by)
  if (!author) return
  const isAdmin = ADMIN_ROLES.includes(author.role)
  switch (body.type) {
    case 'add':
      if (!isAdmin || body.role === 'owner' || state.members.has(body.member)) return
      state.members.set(body.member, { deviceId: body.member, name: body.name, role: body.role, addedBy: body.by, addedAt: body.at })
      return
    case 'remove':
      if (!isAdmin || body.member === state.ownerId) return
      state.members.delete(body.member)
      return
    case 'role': {
      const target = state.members.get(body.member)
      if (!isAdmin || !target || body.member === state.ownerId || body.role === 'owner') return
      target.role = body.role
      return
    }
    case 'name':
      author.name = body.name
      return
    case 'create':
      return
  }
}
