/**
 * Resolution: the membership a set of verified ops comes to (`resolve` has the rules), and the judge
 * of changes made under any part of it. Pure and deterministic: the same ops give the same result,
 * whatever order they arrived in.
 */
import { ADMIN_ROLES, READER_ROLES, WRITER_ROLES, type Role } from '../../../shared/types.ts'
import { prevOf, type OpBody, type SealedName, type VerifiedOp } from './ops.ts'

export interface Member {
  deviceId: string
  /** In clear; '' when it is sealed (`sealedName`) and not opened (see `Workspaces`, which opens it). */
  name: string
  /** The name as sealed, and by whom (the author the seal is bound to). */
  sealedName?: SealedName & { by: string }
  role: Role
  addedBy: string
  addedAt: number
}
/** The epoch whose key new content is sealed with: the last epoch op that took effect, in `resolve`'s order. */
export interface CurrentEpoch {
  id: string
  /** The op that made it. */
  op: string
  by: string
  at: number
  /** Devices it was sealed to, by the epoch op or a grant since. */
  holders: Set<string>
}
export interface MembershipState {
  workspaceId: string
  name: string
  /** The workspace's name as sealed by a `title` op, and by whom. */
  sealedName?: SealedName & { by: string }
  ownerId: string
  createdAt: number
  members: Map<string, Member>
  /** null: no epoch yet (a workspace made before content encryption, or its first moments). */
  epoch: CurrentEpoch | null
}

/** What an op needs of its author, and what a revocation takes away. */
type Right = 'admin' | 'write' | 'read' | 'member'

/** How a change's author stands in the membership state its change names (see `Resolution.judge`). */
export type Judgement =
  | { ok: true }
  /** `m` names ops this peer does not hold yet: the change waits for them. */
  | { ok: false; wait: string[] }
  /** Not allowed at `m` (or, for a change without `m`, now): valid only if a valid change by someone else builds on it. */
  | { ok: false; reason: 'not-member' | 'read-only' | 'revoked'; detail: string }

/** The membership that a set of ops resolves to, and the judge of changes made under any part of it. */
export interface Resolution {
  readonly workspaceId: string
  readonly state: MembershipState
  /** The ops that took effect. */
  readonly applied: ReadonlySet<string>
  /**
   * Whether `author` could write in the state named by `m` (the op heads it signed with), with every
   * op in that state counted as this peer now resolves it, and no revocation of its write right that
   * `m` does not include has taken effect ("removal wins"). `m` null: a change of an older version,
   * judged by the author's current role.
   */
  judge(author: string, m: readonly string[] | null): Judgement
  /** The revocations of a write right that took effect: op hash and the device whose right it took. */
  writeRevocations(): { op: string; device: string }[]
  /**
   * Epoch and grant ops whose author was an admin in the op's own causal past: the only ops whose
   * lockboxes are opened. A key op voided later (its author removed concurrently) still opens what
   * was sealed under it; only the current epoch (`state.epoch`) is ever sealed to.
   */
  keyOps(): VerifiedOp[]
}

/** Replays verified ops into the membership; null when the `create` op is missing. */
export function replay(workspaceId: string, ops: VerifiedOp[]): MembershipState | null {
  return resolve(workspaceId, ops)?.state ?? null
}

/** The membership, and which ops took effect (ops waiting for an unseen `prev` do not). */
export function replayOps(workspaceId: string, ops: VerifiedOp[]): { state: MembershipState; applied: ReadonlySet<string> } | null {
  return resolve(workspaceId, ops)
}

// --- bit sets over op positions (T order) ---

type Bits = Uint32Array
const bitsOf = (n: number): Bits => new Uint32Array((n + 31) >>> 5)
const hasBit = (b: Bits, i: number): boolean => (b[i >>> 5]! & (1 << (i & 31))) !== 0
const setBit = (b: Bits, i: number): void => {
  b[i >>> 5]! |= 1 << (i & 31)
}
const orInto = (into: Bits, from: Bits): void => {
  for (let w = 0; w < from.length; w++) into[w]! |= from[w]!
}
function popcount(b: Bits): number {
  let n = 0
  for (let w = 0; w < b.length; w++) {
    let x = b[w]!
    x -= (x >>> 1) & 0x55555555
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
    n += (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
  }
  return n
}

/**
 * Resolves ops into a membership. Only ops whose whole causal past is among `ops` count (an op
 * waiting for its `prev` is left out). The rules, in full:
 *
 * 1. Judged where it was made: an op takes effect only if its author held the right it needs (admin
 *    to add, remove others, change roles, rename the workspace or make and grant keys; the owner to
 *    make an admin; membership to rename itself or leave) in the state of
 *    the op's causal past, each op of which counted as resolved here (so authority that came from a
 *    voided op is void too).
 * 2. Removal wins: an op is void if a revocation of the right it needs (a removal, a leave, a role
 *    change that drops admin or write) that took effect is concurrent with it: neither had seen the
 *    other. What the remover had seen stays; what its target did without knowing is void.
 * 3. Revocations that void each other (two admins removing or demoting each other concurrently)
 *    both take effect: both lose the role. Rule 2 then voids each one's other concurrent ops. No
 *    tie-break by time or hash, which an author chooses: a removed admin that back-dates a removal of
 *    the admin who removed it takes that admin down with it, but cannot undo its own removal.
 *    Other cycles (an op whose authority and whose voiding depend on each other) are broken the same
 *    way: revocations first, otherwise the first op in the order below is voided.
 * 4. The state is then the ops that took effect applied in one order: by size of causal past (a
 *    topological order), then `at`, then hash. Where ops conflict without revoking (two role changes
 *    of one member, two adds of one device) the later in that order wins or the second is a no-op.
 * 5. The owner (the `create` op's author) cannot be removed, demoted, replaced or leave.
 *
 * Deterministic: the result depends only on the set of ops, never on the order they arrived in.
 */
export function resolve(workspaceId: string, input: VerifiedOp[]): Resolution | null {
  const create = input.find((o) => o.body.type === 'create')
  if (create?.body.type !== 'create') return null
  const byHash = new Map<string, VerifiedOp>()
  for (const o of input) if (o.body.type !== 'create') byHash.set(o.hash, o)
  // Kahn: an op counts once every op it names does; the create op is every op's root.
  const complete: VerifiedOp[] = [create]
  const kIndex = new Map<string, number>([[create.hash, 0]])
  const waitingOn = new Map<string, VerifiedOp[]>()
  const missing = new Map<string, number>()
  const ready: VerifiedOp[] = []
  for (const o of byHash.values()) {
    const need = new Set(prevOf(o).filter((p) => p !== create.hash))
    missing.set(o.hash, need.size)
    if (need.size === 0) ready.push(o)
    for (const p of need) waitingOn.set(p, [...(waitingOn.get(p) ?? []), o])
  }
  while (ready.length > 0) {
    const o = ready.pop()!
    kIndex.set(o.hash, complete.length)
    complete.push(o)
    for (const w of waitingOn.get(o.hash) ?? []) {
      const left = missing.get(w.hash)! - 1
      missing.set(w.hash, left)
      if (left === 0) ready.push(w)
    }
  }
  // Causal pasts (ancestors, the create op included) in Kahn positions, to order by their size.
  const n = complete.length
  const kPast: Bits[] = []
  for (let k = 0; k < n; k++) {
    const b = bitsOf(n)
    if (k > 0) {
      setBit(b, 0)
      for (const p of prevOf(complete[k]!)) {
        const pk = kIndex.get(p)!
        orInto(b, kPast[pk]!)
        setBit(b, pk)
      }
    }
    kPast.push(b)
  }
  const size = kPast.map(popcount)
  const rest = [...Array(n - 1).keys()].map((k) => k + 1)
  rest.sort((x, y) => {
    const a = complete[x]!
    const b = complete[y]!
    return size[x]! - size[y]! || a.body.at - b.body.at || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0)
  })
  const order = [create, ...rest.map((k) => complete[k]!)]
  return new Resolved(workspaceId, order)
}

/** Who is a member with which role, without names: what authority and revocations are judged on. */
type Roles = Map<string, Role>

class Resolved implements Resolution {
  readonly workspaceId: string
  readonly state: MembershipState
  readonly applied: Set<string>
  private readonly order: VerifiedOp[]
  private readonly index = new Map<string, number>()
  private readonly past: Bits[] = []
  private readonly effective: boolean[]
  /** Revocations that took effect, by the device they revoke a right of. */
  private readonly revocations = new Map<string, { at: number; rights: Right[] }[]>()
  private readonly ownerId: string
  private readonly cache = new Map<string, { closure: Bits; roles: Roles }>()
  private readonly keyOpList: VerifiedOp[] = []

  constructor(workspaceId: string, order: VerifiedOp[]) {
    this.workspaceId = workspaceId
    this.order = order
    const n = order.length
    const create = order[0]!
    this.ownerId = create.body.by
    for (const [i, o] of order.entries()) this.index.set(o.hash, i)
    for (let i = 0; i < n; i++) {
      const b = bitsOf(n)
      if (i > 0) setBit(b, 0)
      for (const p of prevOf(order[i]!).map((h) => this.index.get(h)!)) {
        orInto(b, this.past[p]!)
        setBit(b, p)
      }
      this.past.push(b)
    }
    const { effective, before } = this.label()
    this.effective = effective
    for (let j = 1; j < n; j++) {
      const t = this.order[j]!.body.type
      if ((t === 'epoch' || t === 'grant') && this.authorized(j, before[j]!)) this.keyOpList.push(this.order[j]!)
    }
    const { state, applied } = this.fold(null, create)
    this.state = state
    this.applied = applied
    for (let j = 1; j < n; j++) {
      const b = this.order[j]!.body
      if (!effective[j] || (b.type !== 'remove' && b.type !== 'role')) continue
      const rights = this.revokes(j, before[j]!)
      if (rights.length) this.revocations.set(b.member, [...(this.revocations.get(b.member) ?? []), { at: j, rights }])
    }
  }

  private concurrent(i: number, j: number): boolean {
    return i !== j && !hasBit(this.past[i]!, j) && !hasBit(this.past[j]!, i)
  }

  private need(i: number): Right {
    const b = this.order[i]!.body
    if (b.type === 'name') return 'member'
    if (b.type === 'remove' && b.member === b.by) return 'member'
    return 'admin' // add, remove, role, title, epoch, grant
  }

  /** Whether op `i`'s author had the right it needs in `before`, the state of its causal past. */
  private authorized(i: number, before: Roles): boolean {
    const b = this.order[i]!.body
    const role = before.get(b.by)
    if (role === undefined) return false
    if (this.need(i) === 'member') return !(b.type === 'remove' && b.by === this.ownerId)
    // Who else holds an admin's power is the owner's choice alone.
    if ((b.type === 'add' || b.type === 'role') && b.role === 'admin') return role === 'owner'
    return ADMIN_ROLES.includes(role)
  }

  /** The rights op `j` takes from its target, judged in `before` (empty: not a revocation). */
  private revokes(j: number, before: Roles): Right[] {
    const b = this.order[j]!.body
    if (b.type !== 'remove' && b.type !== 'role') return []
    const prior = before.get(b.member)
    if (prior === undefined || b.member === this.ownerId) return []
    if (b.type === 'remove') return ['admin', 'write', 'read', 'member']
    if (b.role === 'owner') return []
    const out: Right[] = []
    if (ADMIN_ROLES.includes(prior) && !ADMIN_ROLES.includes(b.role)) out.push('admin')
    if (WRITER_ROLES.includes(prior) && !WRITER_ROLES.includes(b.role)) out.push('write')
    // Nothing needs 'read' (no op is voided for it): a demotion to keeper is a revocation all the same.
    if (READER_ROLES.includes(prior) && !READER_ROLES.includes(b.role)) out.push('read')
    return out
  }

  /** Applies op `i` to `roles` (a copy when it changes), if its target allows; null when it does not. */
  private step(roles: Roles, i: number): Roles | null {
    const b = this.order[i]!.body
    switch (b.type) {
      case 'add':
        if (b.role === 'owner' || roles.has(b.member)) return null
        return new Map(roles).set(b.member, b.role)
      case 'remove': {
        if (b.member === this.ownerId || !roles.has(b.member)) return null
        const next = new Map(roles)
        next.delete(b.member)
        return next
      }
      case 'role':
        if (b.member === this.ownerId || b.role === 'owner' || !roles.has(b.member)) return null
        return new Map(roles).set(b.member, b.role)
      case 'name':
        return roles.has(b.by) ? roles : null
      case 'title':
      case 'epoch':
      case 'grant':
        return roles
      case 'create':
        return null
    }
  }

  /** The roles after the effective ops among `within` (a causal past: closed under `prev`), in order. */
  private foldRoles(within: Bits, effective: (i: number) => boolean): Roles {
    let roles: Roles = new Map([[this.ownerId, 'owner']])
    for (let i = 1; i < this.order.length; i++) {
      if (!hasBit(within, i) || !effective(i)) continue
      roles = this.step(roles, i) ?? roles
    }
    return roles
  }

  /**
   * Labels every op in or out (rules 1–3): an op is decided once the ops in its causal past that
   * change its author's or its target's role are, so that its authority and what it revokes can be
   * judged (a device's role depends only on the ops naming it as `member`); it is out if unauthorized
   * or a decided-in revocation attacks it, in if every possible attacker is out. When nothing more
   * can be decided, some undecided ops wait on each other: of the cycles of waiting that wait on
   * nothing else, the revocations go in together (rule 3), else the first op goes out.
   */
  private label(): { effective: boolean[]; before: Roles[] } {
    const n = this.order.length
    const label: (boolean | undefined)[] = new Array(n).fill(undefined)
    label[0] = true
    const before: (Roles | undefined)[] = new Array(n).fill(undefined)
    before[0] = new Map()
    const byTarget = new Map<string, number[]>()
    /** The ops that change a device's role (add, remove, role), by that device; `pending`: those undecided. */
    const naming = new Map<string, Bits>()
    const pending = bitsOf(n)
    for (let j = 1; j < n; j++) {
      const b = this.order[j]!.body
      if (b.type === 'remove' || b.type === 'role') byTarget.set(b.member, [...(byTarget.get(b.member) ?? []), j])
      if (b.type !== 'add' && b.type !== 'remove' && b.type !== 'role') continue
      const bits = naming.get(b.member) ?? bitsOf(n)
      naming.set(b.member, bits)
      setBit(bits, j)
      setBit(pending, j)
    }
    const settle = (i: number, value: boolean): void => {
      label[i] = value
      pending[i >>> 5]! &= ~(1 << (i & 31))
    }
    /** The ops in op i's past that its judgement depends on: those changing its author's or target's role. */
    const scope: (Bits | undefined)[] = new Array(n).fill(undefined)
    const scopeOf = (i: number): Bits => {
      const known = scope[i]
      if (known) return known
      const b = this.order[i]!.body
      const s = bitsOf(n)
      for (const d of b.type === 'remove' || b.type === 'role' ? [b.by, b.member] : [b.by]) {
        const bits = naming.get(d)
        if (bits) for (let w = 0; w < s.length; w++) s[w]! |= this.past[i]![w]! & bits[w]!
      }
      scope[i] = s
      return s
    }
    const isReady = (i: number): boolean => {
      const s = scopeOf(i)
      for (let w = 0; w < s.length; w++) if ((s[w]! & pending[w]!) !== 0) return false
      return true
    }
    /** The roles (of op i's author and target: no other is counted) before op i; only once i is ready. */
    const beforeOf = (i: number): Roles => {
      const known = before[i]
      if (known) return known
      const roles = this.foldRoles(scopeOf(i), (k) => label[k] === true)
      before[i] = roles
      return roles
    }
    /** in, out, or undefined: not decidable yet. */
    const decide = (i: number): boolean | undefined => {
      if (!this.authorized(i, beforeOf(i))) return false
      const need = this.need(i)
      let open = false
      for (const j of byTarget.get(this.order[i]!.body.by) ?? []) {
        if (label[j] === false || !this.concurrent(i, j)) continue
        if (!isReady(j)) {
          open = true
          continue
        }
        if (!this.authorized(j, beforeOf(j)) || !this.revokes(j, beforeOf(j)).includes(need)) continue
        if (label[j] === true) return false
        open = true
      }
      return open ? undefined : true
    }
    let left = n - 1
    while (left > 0) {
      let progress = false
      for (let i = 1; i < n; i++) {
        if (label[i] !== undefined || !isReady(i)) continue
        const d = decide(i)
        if (d === undefined) continue
        settle(i, d)
        left--
        progress = true
      }
      if (progress) continue
      // Stalled. An undecided op waits on the ops its judgement needs (not ready), or on its open
      // attackers (ready). Only the cycles of waiting that wait on nothing else are broken here: an
      // op that merely waits on one (its author's other ops, on a revocation of it in the cycle) is
      // then decided by rules 1–2.
      const undecided = [...Array(n).keys()].filter((i) => label[i] === undefined)
      const waitsOn = (i: number): number[] => {
        if (!isReady(i)) return undecided.filter((k) => hasBit(scopeOf(i), k))
        const need = this.need(i)
        return (byTarget.get(this.order[i]!.body.by) ?? []).filter(
          (j) =>
            label[j] === undefined &&
            this.concurrent(i, j) &&
            (!isReady(j) || (this.authorized(j, beforeOf(j)) && this.revokes(j, beforeOf(j)).includes(need))),
        )
      }
      const core = terminalCycles(undecided, waitsOn)
        .filter(isReady)
        .sort((a, b) => a - b)
      const revocations = core.filter((i) => this.authorized(i, beforeOf(i)) && this.revokes(i, beforeOf(i)).length > 0)
      for (const i of revocations.length ? revocations : core.slice(0, 1)) {
        settle(i, revocations.length > 0)
        left--
      }
    }
    return { effective: label.map((l) => l === true), before: before.map((r, i) => r ?? beforeOf(i)) }
  }

  /** The full state (names, who added whom) after the effective ops within `within` (all: null). */
  private fold(within: Bits | null, create: VerifiedOp): { state: MembershipState; applied: Set<string> } {
    const c = create.body.type === 'create' ? create.body : null
    const state: MembershipState = {
      workspaceId: this.workspaceId,
      name: c?.name ?? '',
      ownerId: this.ownerId,
      createdAt: create.body.at,
      members: new Map([
        [
          this.ownerId,
          { deviceId: this.ownerId, name: c?.memberName ?? '', role: 'owner', addedBy: this.ownerId, addedAt: create.body.at },
        ],
      ]),
      epoch: null,
    }
    const applied = new Set([create.hash])
    for (let i = 1; i < this.order.length; i++) {
      if (!this.effective[i] || (within && !hasBit(within, i))) continue
      if (applyOp(state, this.order[i]!.body, this.order[i]!.hash)) applied.add(this.order[i]!.hash)
    }
    return { state, applied }
  }

  keyOps(): VerifiedOp[] {
    return this.keyOpList
  }

  writeRevocations(): { op: string; device: string }[] {
    return [...this.revocations.entries()].flatMap(([device, rs]) =>
      rs.filter((r) => r.rights.includes('write')).map((r) => ({ op: this.order[r.at]!.hash, device })),
    )
  }

  judge(author: string, m: readonly string[] | null): Judgement {
    if (m === null) {
      const role = this.state.members.get(author)?.role
      if (role === undefined)
        return { ok: false, reason: 'not-member', detail: `${author} is not a member of workspace ${this.workspaceId}` }
      if (!WRITER_ROLES.includes(role)) return { ok: false, reason: 'read-only', detail: `${author} is a ${role} and may not write` }
      return { ok: true }
    }
    const at: number[] = []
    const unknown: string[] = []
    for (const h of m) {
      const i = this.index.get(h)
      if (i === undefined) unknown.push(h)
      else at.push(i)
    }
    if (unknown.length) return { ok: false, wait: unknown }
    const key = at.sort((a, b) => a - b).join(',')
    let entry = this.cache.get(key)
    if (!entry) {
      const closure = bitsOf(this.order.length)
      setBit(closure, 0)
      for (const i of at) {
        orInto(closure, this.past[i]!)
        setBit(closure, i)
      }
      entry = { closure, roles: this.foldRoles(closure, (i) => this.effective[i]!) }
      // A few distinct `m` are live at a time (one per membership change); the bound is for junk.
      if (this.cache.size >= 256) this.cache.clear()
      this.cache.set(key, entry)
    }
    const role = entry.roles.get(author)
    if (role === undefined)
      return { ok: false, reason: 'not-member', detail: `${author} is not a member in the membership state its change names` }
    if (!WRITER_ROLES.includes(role))
      return { ok: false, reason: 'read-only', detail: `${author} is a ${role} in the membership state its change names` }
    for (const r of this.revocations.get(author) ?? []) {
      if (r.rights.includes('write') && !hasBit(entry.closure, r.at)) {
        return {
          ok: false,
          reason: 'revoked',
          detail: `${author} lost its write right by op ${this.order[r.at]!.hash.slice(0, 12)}, which its change does not know of`,
        }
      }
    }
    return { ok: true }
  }
}

/**
 * The nodes of the strongly connected components of a graph that no edge leaves and that hold a
 * cycle: what waits only on itself (Tarjan's algorithm, iterative, since the graph may be deep).
 */
function terminalCycles(nodes: number[], edges: (v: number) => number[]): number[] {
  const index = new Map<number, number>()
  const low = new Map<number, number>()
  const out = new Map<number, number[]>()
  const component = new Map<number, number>()
  const components: number[][] = []
  const stack: number[] = []
  const onStack = new Set<number>()
  const visit = (v: number): void => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    out.set(v, edges(v))
    stack.push(v)
    onStack.add(v)
  }
  for (const root of nodes) {
    if (index.has(root)) continue
    visit(root)
    const work: [number, number][] = [[root, 0]]
    while (work.length) {
      const top = work[work.length - 1]!
      const v = top[0]
      const w = out.get(v)![top[1]++]
      if (w !== undefined) {
        if (!index.has(w)) {
          visit(w)
          work.push([w, 0])
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
        continue
      }
      work.pop()
      const parent = work[work.length - 1]?.[0]
      if (parent !== undefined) low.set(parent, Math.min(low.get(parent)!, low.get(v)!))
      if (low.get(v) !== index.get(v)) continue
      const c: number[] = []
      for (let x = -1; x !== v; ) {
        x = stack.pop()!
        onStack.delete(x)
        component.set(x, components.length)
        c.push(x)
      }
      components.push(c)
    }
  }
  const closed = (c: number[]): boolean => c.every((v) => out.get(v)!.every((w) => component.get(w) === component.get(v)))
  return components.filter((c) => (c.length > 1 || out.get(c[0]!)!.includes(c[0]!)) && closed(c)).flat()
}

/** Applies an op's effect to the state if its target allows; whether it did. Authority is judged before. */
function applyOp(state: MembershipState, body: OpBody, hash: string): boolean {
  switch (body.type) {
    case 'add':
      if (body.role === 'owner' || state.members.has(body.member)) return false
      state.members.set(body.member, {
        deviceId: body.member,
        name: body.name,
        ...(body.sn ? { sealedName: { ...body.sn, by: body.by } } : {}),
        role: body.role,
        addedBy: body.by,
        addedAt: body.at,
      })
      return true
    case 'remove':
      if (body.member === state.ownerId || !state.members.has(body.member)) return false
      state.members.delete(body.member)
      return true
    case 'role': {
      const target = state.members.get(body.member)
      if (!target || body.member === state.ownerId || body.role === 'owner') return false
      state.members.set(body.member, { ...target, role: body.role })
      return true
    }
    case 'name': {
      const author = state.members.get(body.by)
      if (!author) return false
      const { sealedName: _, ...rest } = author
      state.members.set(body.by, { ...rest, name: body.name, ...(body.sn ? { sealedName: { ...body.sn, by: body.by } } : {}) })
      return true
    }
    case 'title':
      state.name = body.name
      if (body.sn) state.sealedName = { ...body.sn, by: body.by }
      else delete state.sealedName
      return true
    case 'epoch':
      state.epoch = { id: body.epoch, op: hash, by: body.by, at: body.at, holders: new Set(body.boxes.map(([d]) => d)) }
      return true
    case 'grant':
      // A grant of an epoch that is no longer current changes nothing anyone seals with.
      if (state.epoch?.id !== body.epoch) return false
      for (const [d] of body.boxes) state.epoch.holders.add(d)
      return true
    case 'create':
      return false
  }
}
