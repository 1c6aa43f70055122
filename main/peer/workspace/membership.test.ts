import { before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { decode, encode } from 'cborg'
import { tempDir } from '../test/helpers.ts'
import { SqliteStore } from '../store/sqlite-store.ts'
import { loadOrCreateDevice, type Device } from '../identity/device.ts'
import { sha256, signPayload } from '../identity/keys.ts'
import type { SignedOp } from '../wire/peer-protocol.ts'
import { createWorkspaceOp, heads, makeOp, OpGraph, replay, replayOps, verifyOp, type OpBody, type VerifiedOp } from './membership.ts'

let owner: Device, admin: Device, editor: Device, viewer: Device, outsider: Device

before(async () => {
  const dir = tempDir()
  try {
    const devices: Device[] = []
    for (const name of ['owner', 'admin', 'editor', 'viewer', 'outsider']) {
      const store = new SqliteStore(join(dir.path, `${name}.db`))
      try {
        devices.push(await loadOrCreateDevice(store))
      } finally {
        store.close()
      }
    }
    ;[owner, admin, editor, viewer, outsider] = devices as [Device, Device, Device, Device, Device]
  } finally {
    dir.remove()
  }
})

/** A clock the test moves by hand, so that replay order (by `at`) is deterministic. */
function clock(t: TestContext, start = 1_700_000_000_000): (ms: number) => void {
  t.mock.timers.enable({ apis: ['Date'], now: start })
  return (ms) => t.mock.timers.setTime(start + ms)
}

/**
 * Ops with real `prev` chains: each op names the heads of the ops its author has seen, by default
 * every op made so far (`seen` narrows it: an author that had not seen the others, or back-dates).
 */
class Chain {
  readonly ws: string
  readonly ops: VerifiedOp[]
  constructor(ws: string, create: VerifiedOp) {
    this.ws = ws
    this.ops = [create]
  }
  by(device: Device, input: Parameters<typeof makeOp>[2], seen: VerifiedOp[] = this.ops): VerifiedOp {
    const op = makeOp(device, this.ws, input, heads(seen))
    this.ops.push(op)
    return op
  }
}

/** A workspace by `owner` with admin, editor and viewer added at t=1, 2, 3, each op after the one before. */
function team(t: TestContext): { ws: string; ops: VerifiedOp[]; at: (ms: number) => void; chain: Chain } {
  const at = clock(t)
  const { workspaceId: ws, op } = createWorkspaceOp(owner, 'Team', 'Olive')
  const chain = new Chain(ws, op)
  at(1)
  chain.by(owner, { type: 'add', member: admin.deviceId, name: 'Ada', role: 'admin' })
  at(2)
  chain.by(owner, { type: 'add', member: editor.deviceId, name: 'Ed', role: 'editor' })
  at(3)
  chain.by(admin, { type: 'add', member: viewer.deviceId, name: 'Vi', role: 'viewer' })
  return { ws, ops: [...chain.ops], at, chain }
}

const roles = (ws: string, ops: VerifiedOp[]): Record<string, string> => {
  const state = replay(ws, ops)
  assert.ok(state)
  return Object.fromEntries([...state.members.values()].map((m) => [m.deviceId, m.role]))
}

/** Signs `body` with `device` exactly as the peer does (used to forge ops the API would not make). */
function forge(device: Device, ws: string, body: unknown): SignedOp {
  const b = encode(body)
  const hash = sha256(b).toString('hex')
  return { a: device.deviceId, s: signPayload(device.signingKey, Buffer.from(`grapevine/member/1\n${ws}\n${hash}`)), b }
}

test('the workspace id derives from the create op, which verifies only for that id', (t) => {
  const { workspaceId, op } = createWorkspaceOp(owner, 'Team', 'Olive')
  assert.equal(workspaceId, sha256(op.op.b).toString('hex').slice(0, 32))
  assert.equal(op.hash, sha256(op.op.b).toString('hex'))
  assert.ok(verifyOp(workspaceId, op.op))
  const other = createWorkspaceOp(owner, 'Team', 'Olive')
  assert.notEqual(other.workspaceId, workspaceId, 'a fresh nonce gives a fresh id')
  assert.equal(verifyOp(other.workspaceId, op.op), null)
  const state = replay(workspaceId, [verifyOp(workspaceId, op.op)!])
  assert.equal(state?.name, 'Team')
  assert.equal(state?.ownerId, owner.deviceId)
  assert.deepEqual(state?.members.get(owner.deviceId), {
    deviceId: owner.deviceId,
    name: 'Olive',
    role: 'owner',
    addedBy: owner.deviceId,
    addedAt: state?.createdAt,
  })
  assert.equal(replay(workspaceId, []), null)
  const { ws, ops } = team(t)
  assert.equal(replay(ws, ops.slice(1)), null, 'no state without the create op')
})

test('valid ops verify; tampered bytes, signature or author do not', (t) => {
  const { ws, ops } = team(t)
  const add = ops[1]!.op
  assert.ok(ops.every((o) => verifyOp(ws, o.op)?.hash === o.hash))
  const flipped = Uint8Array.from(add.b)
  flipped[flipped.length - 1]! ^= 0x01
  assert.equal(verifyOp(ws, { ...add, b: flipped }), null, 'one flipped bit')
  const body = decode(add.b) as OpBody & { role: string }
  assert.equal(verifyOp(ws, { ...add, b: encode({ ...body, role: 'owner' }) }), null, 'role edited, old signature')
  const sig = Uint8Array.from(add.s)
  sig[0]! ^= 0x80
  assert.equal(verifyOp(ws, { ...add, s: sig }), null, 'bad signature')
  assert.equal(verifyOp(ws, { ...add, s: add.s.subarray(0, 63) }), null, 'short signature')
  assert.equal(verifyOp(ws, { ...add, a: admin.deviceId }), null, 'claimed by another device')
  assert.equal(verifyOp(ws, { ...add, b: Uint8Array.from([0xff, 0x00, 0x13]) }), null, 'not CBOR')
  assert.equal(verifyOp(ws, { ...add, b: encode({ type: 'add', v: 2 }) }), null, 'wrong shape')
})

test('an op signed by one device in the name of another (author ≠ by) is rejected', (t) => {
  const { ws } = team(t)
  const body = {
    type: 'add',
    v: 1,
    ws,
    by: owner.deviceId,
    at: Date.now(),
    prev: [],
    member: outsider.deviceId,
    name: 'Mallory',
    role: 'admin',
  }
  assert.equal(verifyOp(ws, forge(outsider, ws, body)), null)
  assert.ok(verifyOp(ws, forge(owner, ws, body)), 'the same body signed by its real author is fine')
})

test('an op made for one workspace does not verify in another', (t) => {
  const { ws, ops } = team(t)
  const otherWs = createWorkspaceOp(owner, 'Other', 'Olive').workspaceId
  assert.equal(verifyOp(otherWs, ops[1]!.op), null)
  const body = decode(ops[1]!.op.b) as Record<string, unknown>
  assert.equal(verifyOp(otherWs, forge(owner, ws, { ...body, ws: otherWs })), null, 'signed for ws, claims otherWs')
  assert.equal(verifyOp(ws, forge(owner, otherWs, body)), null, 'claims ws, signed for otherWs')
})

test('roles from replay: owner, admin-added members, viewer role', (t) => {
  const { ws, ops } = team(t)
  assert.deepEqual(roles(ws, ops), {
    [owner.deviceId]: 'owner',
    [admin.deviceId]: 'admin',
    [editor.deviceId]: 'editor',
    [viewer.deviceId]: 'viewer',
  })
  const state = replay(ws, ops)!
  assert.deepEqual(state.members.get(viewer.deviceId), {
    deviceId: viewer.deviceId,
    name: 'Vi',
    role: 'viewer',
    addedBy: admin.deviceId,
    addedAt: Date.now(),
  })
  assert.deepEqual(roles(ws, [...ops].reverse()), roles(ws, ops), 'replay does not depend on arrival order')
})

test('adds by non-admins, and adds as owner, are ignored', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  chain.by(editor, { type: 'add', member: outsider.deviceId, name: 'X', role: 'editor' })
  at(11)
  chain.by(viewer, { type: 'add', member: outsider.deviceId, name: 'X', role: 'viewer' })
  at(12)
  const byOutsider = verifyOp(
    ws,
    forge(outsider, ws, {
      type: 'add',
      v: 1,
      ws,
      by: outsider.deviceId,
      at: Date.now(),
      prev: heads(chain.ops),
      member: outsider.deviceId,
      name: 'X',
      role: 'admin',
    }),
  )!
  at(13)
  chain.by(admin, { type: 'add', member: outsider.deviceId, name: 'X', role: 'owner' })
  at(14)
  chain.by(editor, { type: 'role', member: editor.deviceId, role: 'admin' })
  const after = roles(ws, [...chain.ops, byOutsider])
  assert.equal(after[outsider.deviceId], undefined)
  assert.equal(after[editor.deviceId], 'editor')
})

test('the owner cannot be removed, demoted, or doubled', (t) => {
  // Nor can it leave: a remove of itself is refused like any other removal of the owner.
  const { ws, at, chain } = team(t)
  at(10)
  chain.by(admin, { type: 'remove', member: owner.deviceId })
  at(11)
  chain.by(admin, { type: 'role', member: owner.deviceId, role: 'viewer' })
  at(12)
  chain.by(admin, { type: 'role', member: editor.deviceId, role: 'owner' })
  at(13)
  chain.by(owner, { type: 'remove', member: owner.deviceId })
  const after = replay(ws, chain.ops)!
  assert.equal(after.members.get(owner.deviceId)?.role, 'owner')
  assert.equal(after.members.get(editor.deviceId)?.role, 'editor')
  assert.equal(after.ownerId, owner.deviceId)
})

test('a removed member can no longer act', (t) => {
  const { ws, ops, at, chain } = team(t)
  at(10)
  chain.by(owner, { type: 'remove', member: admin.deviceId })
  // The removed admin knows it was removed (its ops name the removal): none of them takes effect.
  at(11)
  chain.by(admin, { type: 'add', member: outsider.deviceId, name: 'X', role: 'editor' })
  at(12)
  chain.by(admin, { type: 'remove', member: editor.deviceId })
  at(13)
  chain.by(admin, { type: 'name', name: 'Ghost' })
  const after = roles(ws, chain.ops)
  assert.equal(after[admin.deviceId], undefined)
  assert.equal(after[outsider.deviceId], undefined)
  assert.equal(after[editor.deviceId], 'editor')
  // Before the removal, the same admin could act.
  const before = new Chain(ws, ops[0]!)
  before.ops.push(...ops.slice(1))
  before.by(admin, { type: 'add', member: outsider.deviceId, name: 'X', role: 'editor' })
  assert.equal(roles(ws, before.ops)[outsider.deviceId], 'editor')
})

test('a removed admin cannot backdate an op to before its removal', {}, (t) => {
  const { ws, ops, at, chain } = team(t)
  at(10)
  chain.by(owner, { type: 'remove', member: admin.deviceId })
  // Back-dated twice over: an earlier time, and `prev` naming only what was there before the removal.
  at(5)
  chain.by(admin, { type: 'add', member: outsider.deviceId, name: 'X', role: 'admin' }, ops)
  assert.equal(roles(ws, chain.ops)[outsider.deviceId], undefined)
})

test('a name op renames only its author; a role op by an admin changes a role', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  chain.by(editor, { type: 'name', name: 'Edwina' })
  at(11)
  chain.by(viewer, { type: 'name', name: 'Violet' })
  at(12)
  chain.by(admin, { type: 'role', member: viewer.deviceId, role: 'editor' })
  const state = replay(ws, chain.ops)!
  const names = Object.fromEntries([...state.members.values()].map((m) => [m.deviceId, m.name]))
  assert.deepEqual(names, { [owner.deviceId]: 'Olive', [admin.deviceId]: 'Ada', [editor.deviceId]: 'Edwina', [viewer.deviceId]: 'Violet' })
  assert.equal(state.members.get(viewer.deviceId)?.role, 'editor')
  assert.equal(state.name, 'Team', 'a member name op does not rename the workspace')
})

// --- the causal graph, with real `prev` chains ---

test('held back: an op whose prev has not arrived waits, and is kept and applied when it does', (t) => {
  const { ws, ops, at, chain } = team(t)
  at(10)
  const promote = chain.by(owner, { type: 'role', member: editor.deviceId, role: 'admin' })
  at(11)
  const add = chain.by(editor, { type: 'add', member: outsider.deviceId, name: 'Oz', role: 'viewer' })
  const graph = new OpGraph(ws)
  // The newest op first, then the team without the promotion it names: it waits.
  assert.deepEqual(graph.add([add]), [])
  assert.deepEqual(
    graph.add(ops).map((o) => o.hash),
    ops.map((o) => o.hash),
  )
  assert.equal(graph.waitingCount, 1)
  assert.equal(graph.resolution()!.state.members.has(outsider.deviceId), false)
  // The promotion arrives: both are kept, in causal order, and the add takes effect.
  assert.deepEqual(
    graph.add([promote]).map((o) => o.hash),
    [promote.hash, add.hash],
  )
  assert.equal(graph.waitingCount, 0)
  assert.equal(graph.resolution()!.state.members.get(outsider.deviceId)?.role, 'viewer')
  assert.deepEqual(graph.heads(), [add.hash])
})

test("a stranger's ops are never kept; a member's are, whether or not they take effect", (t) => {
  const { ws, ops, at } = team(t)
  at(10)
  const graph = new OpGraph(ws)
  graph.add(ops)
  const strangerOp = verifyOp(
    ws,
    forge(outsider, ws, { type: 'name', v: 1, ws, by: outsider.deviceId, at: Date.now(), prev: heads(ops), name: 'Eve' }),
  )!
  assert.deepEqual(graph.add([strangerOp]), [])
  assert.equal(graph.waitingCount, 0, 'not kept waiting either: its past is all here, and has no add of it')
  assert.equal(graph.has(strangerOp.hash), false)
  // An editor's op is kept (it was added), and takes no effect (it may not add).
  const byEditor = makeOp(editor, ws, { type: 'add', member: outsider.deviceId, name: 'X', role: 'editor' }, heads(ops))
  assert.deepEqual(
    graph.add([byEditor]).map((o) => o.hash),
    [byEditor.hash],
  )
  assert.equal(graph.resolution()!.applied.has(byEditor.hash), false)
})

test('removal wins only over concurrent ops: what the remover had seen stays', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  // The admin adds Oz; the owner sees that, then removes the admin: the add stays.
  const seenAdd = chain.by(admin, { type: 'add', member: outsider.deviceId, name: 'Oz', role: 'editor' })
  at(11)
  const seenBefore = [...chain.ops]
  // Concurrently with the removal (the owner has not seen it), the admin demotes the editor.
  at(12)
  const unseen = chain.by(admin, { type: 'role', member: editor.deviceId, role: 'viewer' }, seenBefore)
  at(13)
  const removal = chain.by(owner, { type: 'remove', member: admin.deviceId }, seenBefore)
  const result = replayOps(ws, chain.ops)!
  const after = Object.fromEntries([...result.state.members.values()].map((m) => [m.deviceId, m.role]))
  assert.equal(after[admin.deviceId], undefined)
  assert.equal(after[outsider.deviceId], 'editor', 'the add the remover had seen stays')
  assert.equal(after[editor.deviceId], 'editor', 'the demotion concurrent with the removal is void')
  assert.ok(result.applied.has(seenAdd.hash) && result.applied.has(removal.hash))
  assert.ok(!result.applied.has(unseen.hash))
  // Had the owner seen the demotion before removing, it would stay.
  const known = [...seenBefore, unseen]
  const later = makeOp(owner, ws, { type: 'remove', member: admin.deviceId }, heads(known))
  assert.equal(roles(ws, [...known, later])[editor.deviceId], 'viewer')
})

/** Every peer's view after receiving `ops` in `orders`' orders, one op at a time, through an OpGraph. */
function everyOrder(ws: string, ops: VerifiedOp[], orders: number): Record<string, string>[] {
  const out: Record<string, string>[] = []
  for (let k = 0; k < orders; k++) {
    const graph = new OpGraph(ws)
    // A rotation and a reversal per k: the create op may come last, ops before what they name.
    const rotated = [...ops.slice(k % ops.length), ...ops.slice(0, k % ops.length)]
    for (const o of k % 2 ? rotated.reverse() : rotated) graph.add([o])
    const state = graph.resolution()!.state
    out.push(Object.fromEntries([...state.members.values()].map((m) => [m.deviceId, m.role])))
  }
  return out
}

test('two admins removing each other concurrently are both removed, on every peer whatever the order', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  chain.by(owner, { type: 'role', member: editor.deviceId, role: 'admin' })
  const base = [...chain.ops]
  at(11)
  const a = chain.by(admin, { type: 'remove', member: editor.deviceId }, base)
  at(12)
  const b = chain.by(editor, { type: 'remove', member: admin.deviceId }, base)
  // Each one's other op concurrent with its own removal is void too.
  at(13)
  chain.by(editor, { type: 'role', member: viewer.deviceId, role: 'editor' }, [...base, b])
  const views = everyOrder(ws, chain.ops, 12)
  for (const v of views) assert.deepEqual(v, views[0])
  assert.deepEqual(views[0], { [owner.deviceId]: 'owner', [viewer.deviceId]: 'viewer' })
  const applied = replayOps(ws, chain.ops)!.applied
  assert.ok(applied.has(a.hash) && applied.has(b.hash))
})

test('a removed admin back-dating a removal of its remover cannot undo its own removal', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  chain.by(owner, { type: 'role', member: editor.deviceId, role: 'admin' })
  const base = [...chain.ops]
  at(11)
  chain.by(editor, { type: 'remove', member: admin.deviceId })
  // The removed admin answers with an op that claims not to know: its `prev` is from before, its time earlier.
  at(5)
  chain.by(admin, { type: 'remove', member: editor.deviceId }, base)
  const views = everyOrder(ws, chain.ops, 8)
  for (const v of views) assert.deepEqual(v, views[0])
  // Both removed: the rule is symmetric (no tie-break an author can choose), so it takes its remover along.
  assert.equal(views[0]![admin.deviceId], undefined)
  assert.equal(views[0]![editor.deviceId], undefined)
  assert.equal(views[0]![owner.deviceId], 'owner')
})

test('a removed admin cannot make an accomplice an admin by back-dating a promotion', (t) => {
  const { ws, at, chain } = team(t)
  const base = [...chain.ops]
  at(10)
  chain.by(owner, { type: 'remove', member: admin.deviceId })
  at(11)
  const promote = chain.by(admin, { type: 'role', member: editor.deviceId, role: 'admin' }, base)
  // The editor acts on the void promotion, pretending not to know of the removal.
  at(12)
  chain.by(editor, { type: 'add', member: outsider.deviceId, name: 'Oz', role: 'admin' }, [...base, promote])
  at(13)
  chain.by(editor, { type: 'remove', member: viewer.deviceId }, [...base, promote])
  const views = everyOrder(ws, chain.ops, 8)
  for (const v of views) assert.deepEqual(v, views[0])
  assert.deepEqual(views[0], { [owner.deviceId]: 'owner', [editor.deviceId]: 'editor', [viewer.deviceId]: 'viewer' })
})

test('a member may leave (remove itself); its ops concurrent with leaving are void, those before stay', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  chain.by(editor, { type: 'name', name: 'Edwina' })
  const before = [...chain.ops]
  at(11)
  const leave = chain.by(editor, { type: 'remove', member: editor.deviceId })
  at(12)
  chain.by(editor, { type: 'name', name: 'Ghost' }, before)
  const result = replayOps(ws, chain.ops)!
  assert.ok(result.applied.has(leave.hash))
  assert.equal(result.state.members.has(editor.deviceId), false)
  // A viewer can leave too; an admin's leave is an ordinary remove of itself.
  at(13)
  chain.by(viewer, { type: 'remove', member: viewer.deviceId })
  at(14)
  chain.by(admin, { type: 'remove', member: admin.deviceId })
  assert.deepEqual(roles(ws, chain.ops), { [owner.deviceId]: 'owner' })
})

test('a change is judged in the membership state it names: removal and demotion keep history valid', (t) => {
  const { ws, at, chain } = team(t)
  const graph = new OpGraph(ws)
  graph.add(chain.ops)
  const before = graph.heads()
  at(10)
  graph.add([chain.by(owner, { type: 'role', member: editor.deviceId, role: 'viewer' })])
  at(11)
  graph.add([chain.by(owner, { type: 'remove', member: admin.deviceId })])
  const after = graph.heads()
  const judge = graph.resolution()!
  // Changes signed before: valid at their `m` for anyone who gets them later...
  for (const d of [editor, admin]) assert.deepEqual(judge.judge(d.deviceId, before).ok, false, 'concurrent: they need an endorsement')
  assert.deepEqual(judge.judge(owner.deviceId, before), { ok: true })
  // ...unless the revocation is in their past: then they were made knowing it, and are refused for good.
  assert.equal((judge.judge(editor.deviceId, after) as { reason: string }).reason, 'read-only')
  assert.equal((judge.judge(admin.deviceId, after) as { reason: string }).reason, 'not-member')
  // Without the revocations (a peer that has not heard of them), the same changes are simply valid.
  const old = new OpGraph(ws)
  old.add(chain.ops.slice(0, 4))
  for (const d of [editor, admin, owner]) assert.deepEqual(old.resolution()!.judge(d.deviceId, before), { ok: true })
  assert.equal((judge.judge(admin.deviceId, before) as { reason: string }).reason, 'revoked')
  // A change naming ops not here waits for them; one by a device never added is not a member's.
  assert.deepEqual(judge.judge(editor.deviceId, ['ab'.repeat(32)]), { ok: false, wait: ['ab'.repeat(32)] })
  assert.equal((judge.judge(outsider.deviceId, after) as { reason: string }).reason, 'not-member')
  assert.equal((judge.judge(viewer.deviceId, after) as { reason: string }).reason, 'read-only')
  // An older version's change (no `m`) is judged by the current role.
  assert.deepEqual(judge.judge(owner.deviceId, null), { ok: true })
  assert.equal((judge.judge(editor.deviceId, null) as { reason: string }).reason, 'read-only')
})

test('only the owner makes an admin: an admin promoting or adding an admin takes no effect, on every peer', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  chain.by(admin, { type: 'role', member: editor.deviceId, role: 'admin' })
  at(11)
  chain.by(admin, { type: 'add', member: outsider.deviceId, name: 'Oz', role: 'admin' })
  // What an admin may do, it still does: an editor added by the admin.
  at(12)
  chain.by(admin, { type: 'role', member: viewer.deviceId, role: 'editor' })
  const views = everyOrder(ws, chain.ops, 8)
  for (const v of views) assert.deepEqual(v, views[0])
  assert.deepEqual(views[0], {
    [owner.deviceId]: 'owner',
    [admin.deviceId]: 'admin',
    [editor.deviceId]: 'editor',
    [viewer.deviceId]: 'editor',
  })
  at(13)
  chain.by(owner, { type: 'role', member: editor.deviceId, role: 'admin' })
  assert.equal(roles(ws, chain.ops)[editor.deviceId], 'admin', 'the owner can')
})
