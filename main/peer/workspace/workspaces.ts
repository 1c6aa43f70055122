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
import { sha256 } from '../identity/keys.ts'
import { createWorkspaceOp, makeOp, OpGraph, verifyOp, type Judgement, type MembershipState, type VerifiedOp } from './membership.ts'

/** Answers "could this author write in the membership state its change names?" (see `Resolution.judge`). */
export type ChangeJudge = (author: string, m: readonly string[] | null) => Judgement

interface WorkspaceEvents {
  /** Members (or this device's own membership) of a workspace changed. */
  members: [workspaceId: string]
  /** New ops to pass on to the other members. */
  ops: [workspaceId: string, ops: SignedOp[]]
}

export class Workspaces extends EventEmitter<WorkspaceEvents> {
  private readonly states = new Map<string, MembershipState>()
  /** Each workspace's ops, verified once when loaded or received. */
  private readonly graphs = new Map<string, OpGraph>()
  /** Ops already in a graph whose store write (and state) is still on its way, per workspace. */
  private readonly settling = new Map<string, Promise<void>>()
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

  /** The heads of the workspace's op graph: what this device's changes name as `m` when it signs them. */
  heads(workspaceId: string): string[] {
    return this.graph(workspaceId).heads()
  }

  /** Revocations of a write right that took effect (removals, leaves, demotions to viewer). */
  writeRevocations(workspaceId: string): { op: string; device: string }[] {
    return this.graph(workspaceId).resolution()?.writeRevocations() ?? []
  }

  /** A device's name as the ops last gave it, a removed member's too; its id's tail if it never had one. */
  nameEver(workspaceId: string, deviceId: string): string {
    let name: string | undefined
    let at = -1
    for (const o of this.graph(workspaceId).ops()) {
      const b = o.body
      const given = b.type === 'add' && b.member === deviceId ? b.name : b.type === 'name' && b.by === deviceId ? b.name : undefined
      if (given !== undefined && b.at > at) {
        name = given
        at = b.at
      }
    }
    return name ?? this.states.get(workspaceId)?.members.get(deviceId)?.name ?? deviceId.slice(-8)
  }

  /** Epoch and grant ops by an admin of their causal past: the only ops whose lockboxes are opened. */
  keyOps(workspaceId: string): VerifiedOp[] {
    return this.graph(workspaceId).resolution()?.keyOps() ?? []
  }

  /** Judges changes of the workspace by the membership state each names; cheap per change (cached per state). */
  judge(workspaceId: string): ChangeJudge {
    return (author, m) => {
      const r = this.graph(workspaceId).resolution()
      return r ? r.judge(author, m) : { ok: false, reason: 'not-member', detail: `workspace ${workspaceId} is not known here` }
    }
  }

  async create(name: string, memberName: string): Promise<string> {
    const { workspaceId, op } = createWorkspaceOp(this.device, name, memberName)
    const graph = new OpGraph(workspaceId)
    graph.add([op])
    this.graphs.set(workspaceId, graph)
    await this.store.write(() => {
      this.store.putWorkspace({ id: workspaceId, name, ownerId: this.device.deviceId, createdAt: op.body.at, joinedAt: op.body.at })
      this.persist(workspaceId, [op])
    })
    this.recompute(workspaceId)
    return workspaceId
  }

  /**
   * A new signed op by this device (add, remove, role, name; a remove of itself is leaving), naming
   * every op it has as seen; kept (whether or not it takes effect), stored, and announced.
   */
  async act(workspaceId: string, input: Parameters<typeof makeOp>[2]): Promise<void> {
    const graph = this.graph(workspaceId)
    const op = makeOp(this.device, workspaceId, input, graph.heads())
    graph.add([op])
    await this.store.write(() => this.persist(workspaceId, [op]))
    this.recompute(workspaceId)
    this.emit('ops', workspaceId, [op.op])
  }

  /**
   * Takes ops from a peer and keeps those `OpGraph` keeps: an op whose whole causal past is here and
   * whose author the owner or an op in that past added; a stranger's ops never. An op whose `prev`
   * has not arrived yet waits in memory and is kept when it does (catch-up brings it again if it
   * was dropped). Kept ops may or may not take effect (see `resolve`). Returns the ops kept now.
   * `adopt` accepts a workspace not known here (joining).
   */
  async ingest(workspaceId: string, ops: SignedOp[], adopt = false): Promise<SignedOp[]> {
    if (!this.states.has(workspaceId) && !adopt) return []
    const graph = this.graph(workspaceId)
    // Hashing is cheap, verifying is not: ops kept already (most of a catch-up summary) are skipped.
    const fresh = ops
      .filter((o) => !graph.has(sha256(o.b).toString('hex')))
      .map((o) => verifyOp(workspaceId, o))
      .filter((v): v is VerifiedOp => v !== null)
    if (fresh.length === 0) {
      // The same ops may be in the graph already, from a concurrent ingest still writing them: the
      // caller must see the state they make once this returns.
      await this.settling.get(workspaceId)
      return []
    }
    const kept = graph.add(fresh)
    const state = graph.resolution()?.state
    if (kept.length === 0 || !state) return []
    const write = this.store.write(() => {
      if (!this.states.has(workspaceId)) {
        this.store.putWorkspace({
          id: workspaceId,
          name: state.name,
          ownerId: state.ownerId,
          createdAt: state.createdAt,
          joinedAt: Date.now(),
        })
      }
      this.persist(workspaceId, kept)
    })
    const settled = write.then(() => this.recompute(workspaceId))
    const marker = settled.catch(() => {})
    this.settling.set(workspaceId, marker)
    try {
      await settled
    } finally {
      if (this.settling.get(workspaceId) === marker) this.settling.delete(workspaceId)
    }
    return kept.map((f) => f.op)
  }

  /** The workspace's op graph, loaded from the store (and verified) once. */
  private graph(workspaceId: string): OpGraph {
    let graph = this.graphs.get(workspaceId)
    if (!graph) {
      graph = new OpGraph(workspaceId)
      const stored = this.store
        .listMembershipOps(workspaceId)
        .map((r) => verifyOp(workspaceId, { a: r.author, s: r.signature, b: r.bytes }))
        .filter((v): v is VerifiedOp => v !== null)
      // Kept before, by this or an older version (which kept only ops that took effect then).
      graph.add(stored, true)
      this.graphs.set(workspaceId, graph)
    }
    return graph
  }

  private persist(workspaceId: string, ops: VerifiedOp[]): void {
    this.store.addMembershipOps(
      workspaceId,
      ops.map((o) => ({ hash: o.hash, author: o.op.a, signature: o.op.s, bytes: o.op.b })),
      Date.now(),
    )
  }

  private recompute(workspaceId: string): void {
    const state = this.graph(workspaceId).resolution()?.state
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
