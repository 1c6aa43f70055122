/**
 * The workspaces this device belongs to and their members, kept in memory from the signed
 * membership ops in the store. Answers the questions every inbound message asks: is this device a
 * member, and may it write?
 */
import { EventEmitter } from 'node:events'
import type { Role } from '../../../shared/types.ts'
import type { Device } from '../identity/device.ts'
import { devicePublicKey } from '../identity/keys.ts'
import type { PeerStore } from '../store/types.ts'
import type { SignedOp } from '../wire/peer-protocol.ts'
import { createWorkspaceOp, heads, makeOp, replayOps, verifyOp, type MembershipState, type VerifiedOp } from './membership.ts'

interface WorkspaceEvents {
  /** Members (or this device's own membership) of a workspace changed. */
  members: [workspaceId: string]
  /** New ops to pass on to the other members. */
  ops: [workspaceId: string, ops: SignedOp[]]
}

export class Workspaces extends EventEmitter<WorkspaceEvents> {
  private readonly states = new Map<string, MembershipState>()
  private readonly store: PeerStore
  private readonly device: Device

  constructor(store: PeerStore, device: Device) {
    super()
    this.store = store
    this.device = device
    for (const ws of store.listWorkspaces()) this.recompute(ws.id)
  }

  ids(): string[] {
    return [...this.states.keys()]
  }

  state(workspaceId: string): MembershipState | undefined {
    return this.states.get(workspaceId)
  }

  roleOf(workspaceId: string, deviceId: string): Role | undefined {
    return this.states.get(workspaceId)?.members.get(deviceId)?.role
  }

  /** Workspaces both this device and `deviceId` are members of. */
  shared(deviceId: string): string[] {
    return this.ids().filter((ws) => this.states.get(ws)?.members.has(deviceId) && this.states.get(ws)?.members.has(this.device.deviceId))
  }

  /** Every other device that shares a workspace with this one. */
  teammates(): Set<string> {
    const out = new Set<string>()
    for (const s of this.states.values()) {
      if (!s.members.has(this.device.deviceId)) continue
      for (const id of s.members.keys()) if (id !== this.device.deviceId) out.add(id)
    }
    return out
  }

  signedOps(workspaceId: string): SignedOp[] {
    return this.store.listMembershipOps(workspaceId).map((r) => ({ a: r.author, s: r.signature, b: r.bytes }))
  }

  async create(name: string, memberName: string): Promise<string> {
    const { workspaceId, op } = createWorkspaceOp(this.device, name, memberName)
    await this.store.write(() => {
      this.store.putWorkspace({ id: workspaceId, name, ownerId: this.device.deviceId, createdAt: op.body.at, joinedAt: op.body.at })
      this.persist(workspaceId, [op])
    })
    this.recompute(workspaceId)
    return workspaceId
  }

  /** A new signed op by this device (add, remove, role, name); applied, stored, and announced. */
  async act(workspaceId: string, input: Parameters<typeof makeOp>[2]): Promise<void> {
    const op = makeOp(this.device, workspaceId, input, heads(this.verifiedOps(workspaceId)))
    await this.store.write(() => this.persist(workspaceId, [op]))
    this.recompute(workspaceId)
    this.emit('ops', workspaceId, [op.op])
  }

  /**
   * Takes ops from a peer. Only ops that take effect are kept: a stranger's or an ex-member's
   * signed ops are dropped, and an op whose causal past has not arrived yet comes again with the
   * next catch-up. Returns the ops that were new. `adopt` accepts a workspace not known here (joining).
   */
  async ingest(workspaceId: string, ops: SignedOp[], adopt = false): Promise<SignedOp[]> {
    if (!this.states.has(workspaceId) && !adopt) return []
    const known = this.verifiedOps(workspaceId)
    const knownHashes = new Set(known.map((o) => o.hash))
    const fresh = ops.map((o) => verifyOp(workspaceId, o)).filter((v): v is VerifiedOp => v !== null && !knownHashes.has(v.hash))
    if (fresh.length === 0) return []
    const result = replayOps(workspaceId, [...known, ...fresh])
    if (!result) return []
    const effective = fresh.filter((f) => result.applied.has(f.hash))
    if (effective.length === 0) return []
    const { state } = result
    await this.store.write(() => {
      if (!this.states.has(workspaceId)) {
        this.store.putWorkspace({
          id: workspaceId,
          name: state.name,
          ownerId: state.ownerId,
          createdAt: state.createdAt,
          joinedAt: Date.now(),
        })
      }
      this.persist(workspaceId, effective)
    })
    this.recompute(workspaceId)
    return effective.map((f) => f.op)
  }

  private verifiedOps(workspaceId: string): VerifiedOp[] {
    return this.store
      .listMembershipOps(workspaceId)
      .map((r) => verifyOp(workspaceId, { a: r.author, s: r.signature, b: r.bytes }))
      .filter((v): v is VerifiedOp => v !== null)
  }

  private persist(workspaceId: string, ops: VerifiedOp[]): void {
    this.store.addMembershipOps(
      workspaceId,
      ops.map((o) => ({ hash: o.hash, author: o.op.a, signature: o.op.s, bytes: o.op.b })),
      Date.now(),
    )
  }

  private recompute(workspaceId: string): void {
    const state = replayOps(workspaceId, this.verifiedOps(workspaceId))?.state
    if (!state) return
    this.states.set(workspaceId, state)
    void this.store
      .write(() => {
        this.store.putWorkspace({
          id: workspaceId,
          name: state.name,
          ownerId: state.ownerId,
          createdAt: state.createdAt,
          joinedAt: Date.now(),
        })
        this.store.replaceMembers(
          workspaceId,
          [...state.members.values()].map((m) => ({
            workspaceId,
            deviceId: m.deviceId,
            publicKey: devicePublicKey(m.deviceId)?.raw ?? new Uint8Array(),
            name: m.name,
            role: m.role,
            addedBy: m.addedBy,
            addedAt: m.addedAt,
          })),
        )
      })
      .catch(() => {
        /* the members table is a cache of the ops; it is rebuilt on the next start */
      })
    this.emit('members', workspaceId)
  }
}
