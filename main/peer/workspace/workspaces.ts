/**
 * The workspaces this device belongs to and their members, kept in memory from the signed
 * membership ops in the store. Answers the questions every inbound message asks: is this device a
 * member, and may it write?
 */
import { EventEmitter } from 'node:events'
import type { Role } from '../../../shared/types.ts'
import type { Device } from '../identity/device.ts'
import { devicePublicKey } from '../identity/keys.ts'
import type { Durable, MembershipStore } from '../store/types.ts'
import type { SignedOp } from '../wire/peer-protocol.ts'
import { sha256 } from '../identity/keys.ts'
import {
  createWorkspaceOp,
  makeOp,
  OpGraph,
  verifyOp,
  type Judgement,
  type MembershipState,
  type SealedName,
  type VerifiedOp,
} from './membership.ts'

/** Answers "could this author write in the membership state its change names?" (see `Resolution.judge`). */
export type ChangeJudge = (author: string, m: readonly string[] | null) => Judgement

/** What a sealed name is: a member's (subject: its device id) or the workspace's (subject: its id). */
export type NameKind = 'member' | 'title'

/**
 * Seals and opens names in membership ops with the workspace's epoch keys (`EpochKeys`). Without
 * one (tests of membership alone) names travel in clear, as older versions sent them.
 */
export interface Namer {
  /** Sealed under the current epoch's key by this device; null when it holds none (then in clear). */
  seal(workspaceId: string, kind: NameKind, subject: string, text: string): SealedName | null
  /** The name, if this device holds the key it was sealed under and it opens. */
  open(workspaceId: string, sealed: SealedName & { by: string }, kind: NameKind, subject: string): string | null
  /** Waits for key work under way in the workspace (its first epoch, after `create`). */
  ready(workspaceId: string): Promise<void>
}

/** What is shown for a name this device cannot open (a keeper, or a key still on its way). */
const unnamedMember = (deviceId: string): string => `member …${deviceId.slice(-6)}`
const unnamedWorkspace = (workspaceId: string): string => `workspace ${workspaceId.slice(0, 8)}`

interface WorkspaceEvents {
  /** Members (or this device's own membership) of a workspace changed. */
  members: [workspaceId: string]
  /** New ops to pass on to the other members. */
  ops: [workspaceId: string, ops: SignedOp[]]
}

/** What the workspaces are kept with (libp2p-style components, as the other parts of a peer). */
export interface WorkspacesComponents {
  store: Durable & MembershipStore
  device: Device
}

export class Workspaces extends EventEmitter<WorkspaceEvents> {
  private readonly states = new Map<string, MembershipState>()
  /** Each workspace's ops, verified once when loaded or received. */
  private readonly graphs = new Map<string, OpGraph>()
  /** Ops already in a graph whose store write (and state) is still on its way, per workspace. */
  private readonly settling = new Map<string, Promise<void>>()
  private readonly store: Durable & MembershipStore
  private readonly device: Device
  private namer: Namer | null = null
  /**
   * Workspaces `create` is making here, with the names it was given: shown until their sealed title and
   * member name are in (the first epoch's key comes first).
   */
  private readonly creating = new Map<string, { name: string; memberName: string }>()

  constructor(components: WorkspacesComponents) {
    super()
    const { store, device } = components
    this.store = store
    this.device = device
    for (const ws of store.listWorkspaces()) this.recompute(ws.id)
  }

  /** From now on names in new ops are sealed, and sealed names are opened where a key is held. */
  useNamer(namer: Namer): void {
    this.namer = namer
    for (const ws of this.ids()) this.recompute(ws)
  }

  /** New keys may open names that could not be read before. */
  reopenNames(workspaceId: string): void {
    if (this.states.has(workspaceId)) this.recompute(workspaceId)
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

  /**
   * The workspace's ops this device keeps, in the order they were kept (an op after those it builds on). From
   * the op graph in memory, which holds every stored op that verifies: catch-up asks for them at every
   * session, and reading them from the store each time was a third of its CPU at the start of a session.
   */
  signedOps(workspaceId: string): SignedOp[] {
    // A workspace not known here has none (and gets no graph: a stranger's request names any id it likes).
    if (!this.states.has(workspaceId) && !this.graphs.has(workspaceId)) return []
    return this.graph(workspaceId)
      .ops()
      .map((v) => v.op)
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
      if (!((b.type === 'add' && b.member === deviceId) || (b.type === 'name' && b.by === deviceId)) || b.at <= at) continue
      const given = b.sn ? this.open(workspaceId, { ...b.sn, by: b.by }, 'member', deviceId) : b.name
      if (given) {
        name = given
        at = b.at
      }
    }
    return name ?? this.states.get(workspaceId)?.members.get(deviceId)?.name ?? unnamedMember(deviceId)
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

  /**
   * A new workspace owned by this device. With a namer its `create` op names nothing: once the first
   * epoch is made, the workspace's and the owner's names follow in sealed `title` and `name` ops.
   */
  async create(name: string, memberName: string): Promise<string> {
    const sealed = this.namer !== null
    const { workspaceId, op } = createWorkspaceOp(this.device, sealed ? '' : name, sealed ? '' : memberName)
    const graph = new OpGraph(workspaceId)
    graph.add([op])
    this.graphs.set(workspaceId, graph)
    // Listed (and so open to a client's requests, an invite among them) from its first op on, before
    // the first epoch's key that seals its names: until those are in, it shows the names given here.
    this.creating.set(workspaceId, { name, memberName })
    try {
      await this.store.write(() => {
        this.store.putWorkspace({ id: workspaceId, name, ownerId: this.device.deviceId, createdAt: op.body.at, joinedAt: op.body.at })
        this.persist(workspaceId, [op])
      })
      this.recompute(workspaceId)
      if (this.namer) {
        await this.namer.ready(workspaceId)
        await this.act(workspaceId, { type: 'title', name })
        await this.act(workspaceId, { type: 'name', name: memberName })
      }
    } finally {
      this.creating.delete(workspaceId)
    }
    return workspaceId
  }

  /**
   * A new signed op by this device (add, remove, role, name; a remove of itself is leaving), naming
   * every op it has as seen; kept (whether or not it takes effect), stored, and announced.
   */
  async act(workspaceId: string, input: Parameters<typeof makeOp>[2]): Promise<void> {
    const graph = this.graph(workspaceId)
    const op = makeOp(this.device, workspaceId, this.sealName(workspaceId, input), graph.heads())
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

  /** An op's name sealed, if it names someone (or the workspace) and this device holds the current key. */
  private sealName(workspaceId: string, input: Parameters<typeof makeOp>[2]): Parameters<typeof makeOp>[2] {
    if (!this.namer || (input.type !== 'add' && input.type !== 'name' && input.type !== 'title') || input.name === '') return input
    const subject = input.type === 'add' ? input.member : input.type === 'name' ? this.device.deviceId : workspaceId
    const sn = this.namer.seal(workspaceId, input.type === 'title' ? 'title' : 'member', subject, input.name)
    return sn ? { ...input, name: '', sn } : input
  }

  private open(workspaceId: string, sealed: SealedName & { by: string }, kind: NameKind, subject: string): string | null {
    return this.namer?.open(workspaceId, sealed, kind, subject) ?? null
  }

  /** The state as shown: sealed names opened where this device can, a stand-in where it cannot. */
  private present(workspaceId: string, state: MembershipState): MembershipState {
    const creating = this.creating.get(workspaceId)
    const unnamed = (id: string): string => (creating && id === this.device.deviceId ? creating.memberName : unnamedMember(id))
    const members = new Map(
      [...state.members].map(([id, m]) => {
        if (!m.sealedName) return [id, m.name ? m : { ...m, name: unnamed(id) }]
        return [id, { ...m, name: this.open(workspaceId, m.sealedName, 'member', id) ?? unnamed(id) }]
      }),
    )
    const name = state.sealedName ? this.open(workspaceId, state.sealedName, 'title', workspaceId) : state.name
    return { ...state, members, name: name || creating?.name || unnamedWorkspace(workspaceId) }
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
    const resolved = this.graph(workspaceId).resolution()?.state
    if (!resolved) return
    const state = this.present(workspaceId, resolved)
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
