/**
 * Epoch and grant ops (content keys in the membership log) and the keeper role, with real `prev`
 * chains: who may rotate or grant, which epoch is current on every peer whatever the arrival order,
 * what the op schema refuses, and how a demotion to keeper is judged.
 */
import { before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { tempDir } from '../test/helpers.ts'
import { seededRandom, type Random } from '../test/random.ts'
import { SqliteStore } from '../store/sqlite-store.ts'
import { loadOrCreateDevice, type Device } from '../identity/device.ts'
import { newEpochKey } from '../crypto/epoch.ts'
import { LOCKBOX_BYTES, openLockbox, sealTo } from '../crypto/lockbox.ts'
import { MAX_LOCKBOXES_PER_OP } from '../../../shared/limits.ts'
import { createWorkspaceOp, heads, makeOp, OpGraph, replayOps, verifyOp, type Resolution, type VerifiedOp } from './membership.ts'

let owner: Device, admin: Device, admin2: Device, editor: Device, viewer: Device, keeper: Device, outsider: Device

before(async () => {
  const dir = tempDir()
  try {
    const devices: Device[] = []
    for (const name of ['owner', 'admin', 'admin2', 'editor', 'viewer', 'keeper', 'outsider']) {
      const store = new SqliteStore(join(dir.path, `${name}.db`))
      try {
        devices.push(await loadOrCreateDevice(store))
      } finally {
        store.close()
      }
    }
    ;[owner, admin, admin2, editor, viewer, keeper, outsider] = devices as [Device, Device, Device, Device, Device, Device, Device]
  } finally {
    dir.remove()
  }
})

/** A clock the test moves by hand, so that resolve's order (by `at` among equals) is deterministic. */
function clock(t: TestContext, start = 1_700_000_000_000): (ms: number) => void {
  t.mock.timers.enable({ apis: ['Date'], now: start })
  return (ms) => t.mock.timers.setTime(start + ms)
}

type Input = Parameters<typeof makeOp>[2]

/** Ops with real `prev` chains: each names the heads of `seen`, by default every op made so far. */
class Chain {
  readonly ws: string
  readonly ops: VerifiedOp[]
  constructor(ws: string, create: VerifiedOp) {
    this.ws = ws
    this.ops = [create]
  }
  by(device: Device, input: Input, seen: VerifiedOp[] = this.ops): VerifiedOp {
    const op = makeOp(device, this.ws, input, heads(seen))
    this.ops.push(op)
    return op
  }
}

/**
 * A workspace by `owner` with admin, admin2, editor, viewer and keeper added at t=1..5, each op after
 * the one before (the keeper by an `add` with role keeper).
 */
function team(t: TestContext): { ws: string; at: (ms: number) => void; chain: Chain } {
  const at = clock(t)
  const { workspaceId: ws, op } = createWorkspaceOp(owner, 'Team', 'Olive')
  const chain = new Chain(ws, op)
  const adds: [Device, string, 'admin' | 'editor' | 'viewer' | 'keeper'][] = [
    [admin, 'Ada', 'admin'],
    [admin2, 'Abe', 'admin'],
    [editor, 'Ed', 'editor'],
    [viewer, 'Vi', 'viewer'],
    [keeper, 'Kee', 'keeper'],
  ]
  for (const [k, [d, name, role]] of adds.entries()) {
    at(k + 1)
    chain.by(owner, { type: 'add', member: d.deviceId, name, role })
  }
  return { ws, at, chain }
}

const newEpochId = (): string => randomBytes(16).toString('hex')
/** Lockboxes for `devices` (bytes of the right size; the schema checks nothing more). */
const boxesFor = (devices: Device[]): [string, Uint8Array][] => devices.map((d, k) => [d.deviceId, new Uint8Array(LOCKBOX_BYTES).fill(k)])
const epochInput = (id: string, devices: Device[], links: [string, Uint8Array][] = []): Input => ({
  type: 'epoch',
  epoch: id,
  boxes: boxesFor(devices),
  links,
})
const grantInput = (id: string, devices: Device[]): Input => ({ type: 'grant', epoch: id, boxes: boxesFor(devices) })
const readers = (): Device[] => [owner, admin, admin2, editor, viewer]

function resolution(ws: string, ops: VerifiedOp[]): Resolution {
  const graph = new OpGraph(ws)
  const kept = graph.add(ops)
  assert.equal(kept.length, ops.length, 'every op is kept')
  return graph.resolution()!
}

/** The current epoch as comparable data: id, op, sorted holders. */
const epochOf = (r: Resolution): { id: string; op: string; holders: string[] } | null =>
  r.state.epoch && { id: r.state.epoch.id, op: r.state.epoch.op, holders: [...r.state.epoch.holders].sort() }
const ids = (devices: Device[]): string[] => devices.map((d) => d.deviceId).sort()
const keyOpHashes = (r: Resolution): string[] => r.keyOps().map((o) => o.hash)

/**
 * What peers that received `ops` in `count` random orders, in random batches (each batch any subset
 * of what is left, ops before those they name or after), resolve: current epoch, key ops, roles.
 */
function everyPeer(ws: string, ops: VerifiedOp[], rnd: Random, count: number): unknown[] {
  const out: unknown[] = []
  for (let k = 0; k < count; k++) {
    const left = [...ops]
    const graph = new OpGraph(ws)
    while (left.length) {
      const batch: VerifiedOp[] = []
      for (let b = rnd.between(1, Math.min(3, left.length)); b > 0; b--) batch.push(left.splice(rnd.int(left.length), 1)[0]!)
      graph.add(batch)
    }
    const r = graph.resolution()!
    assert.equal(graph.ops().length, ops.length, 'every peer keeps every op')
    out.push({
      epoch: epochOf(r),
      keyOps: keyOpHashes(r).sort(),
      applied: [...r.applied].sort(),
      roles: [...r.state.members.values()].map((m) => `${m.deviceId}:${m.role}`).sort(),
    })
  }
  return out
}

// --- epochs and grants by admins ---

test("an admin's epoch op becomes the current epoch, held by its boxes' devices; a later grant adds holders", (t) => {
  const { ws, at, chain } = team(t)
  let r = resolution(ws, chain.ops)
  assert.equal(r.state.epoch, null, 'no epoch before the first epoch op')
  at(10)
  const e1 = newEpochId()
  const first = chain.by(admin, epochInput(e1, [owner, admin, editor]))
  r = resolution(ws, chain.ops)
  assert.deepEqual(epochOf(r), { id: e1, op: first.hash, holders: ids([owner, admin, editor]) })
  assert.equal(r.state.epoch?.by, admin.deviceId)
  assert.equal(r.state.epoch?.at, first.body.at)
  assert.ok(r.applied.has(first.hash))
  assert.deepEqual(keyOpHashes(r), [first.hash])
  // A grant of the current epoch, by another admin, adds its devices (one of them already a holder).
  at(11)
  const grant = chain.by(admin2, grantInput(e1, [viewer, admin2, editor]))
  r = resolution(ws, chain.ops)
  assert.deepEqual(epochOf(r), { id: e1, op: first.hash, holders: ids([owner, admin, admin2, editor, viewer]) })
  assert.ok(r.applied.has(grant.hash))
  assert.deepEqual(keyOpHashes(r), [first.hash, grant.hash])
  // A newcomer added later, then granted: it holds the key too.
  at(12)
  chain.by(owner, { type: 'add', member: outsider.deviceId, name: 'Oz', role: 'viewer' })
  at(13)
  chain.by(owner, grantInput(e1, [outsider]))
  r = resolution(ws, chain.ops)
  assert.deepEqual(epochOf(r)?.holders, ids([owner, admin, admin2, editor, viewer, outsider]))
})

test('a rotation replaces the current epoch and its holders; a grant naming an older epoch changes nothing', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  const e1 = newEpochId()
  chain.by(owner, epochInput(e1, readers()))
  at(11)
  const e2 = newEpochId()
  // The holders are exactly the new op's boxes: nobody keeps the role of holder from the older epoch.
  const rotate = chain.by(admin, epochInput(e2, [owner, admin, editor], [[e1, new Uint8Array(72)]]))
  at(12)
  const stale = chain.by(admin2, grantInput(e1, [viewer, outsider]))
  at(13)
  const unknown = chain.by(admin2, grantInput(newEpochId(), [viewer]))
  const r = resolution(ws, chain.ops)
  assert.deepEqual(epochOf(r), { id: e2, op: rotate.hash, holders: ids([owner, admin, editor]) })
  assert.ok(!r.applied.has(stale.hash), 'a grant of an older epoch is not applied')
  assert.ok(!r.applied.has(unknown.hash), 'nor one of an epoch no op made')
  // Both were made by an admin: their lockboxes are still openable key ops.
  assert.ok(keyOpHashes(r).includes(stale.hash) && keyOpHashes(r).includes(unknown.hash))
  // The same grant of the current epoch does apply.
  at(14)
  const fresh = chain.by(admin2, grantInput(e2, [viewer]))
  const after = resolution(ws, chain.ops)
  assert.ok(after.applied.has(fresh.hash))
  assert.deepEqual(epochOf(after)?.holders, ids([owner, admin, editor, viewer]))
})

test('a grant concurrent with a rotation never adds holders to the new epoch, whichever resolve orders first', (t) => {
  for (const [grantAt, rotateAt] of [
    [11, 12],
    [12, 11],
  ] as const) {
    const { ws, at, chain } = team(t)
    at(10)
    const e1 = newEpochId()
    chain.by(owner, epochInput(e1, [owner, admin, admin2]))
    const base = [...chain.ops]
    at(grantAt)
    const grant = chain.by(admin, grantInput(e1, [editor, viewer]), base)
    at(rotateAt)
    const e2 = newEpochId()
    const rotate = chain.by(admin2, epochInput(e2, [owner, admin, admin2, editor]), base)
    const r = resolution(ws, chain.ops)
    assert.deepEqual(epochOf(r), { id: e2, op: rotate.hash, holders: ids([owner, admin, admin2, editor]) })
    // Ordered before the rotation it is applied (to e1, then replaced); after it, it is no-op.
    assert.equal(r.applied.has(grant.hash), grantAt < rotateAt)
    assert.ok(keyOpHashes(r).includes(grant.hash))
    t.mock.timers.reset()
  }
})

// --- who may not, and removal wins ---

test('epoch and grant ops by an editor, a viewer or a keeper never take effect and are not key ops', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  const e1 = newEpochId()
  const first = chain.by(owner, epochInput(e1, readers()))
  const attempts: VerifiedOp[] = []
  let ms = 11
  for (const d of [editor, viewer, keeper]) {
    at(ms++)
    attempts.push(chain.by(d, epochInput(newEpochId(), [d, outsider])))
    at(ms++)
    attempts.push(chain.by(d, grantInput(e1, [d, outsider])))
  }
  const r = resolution(ws, chain.ops)
  for (const o of attempts) {
    assert.ok(!r.applied.has(o.hash), `${o.body.type} by a non-admin is not applied`)
    assert.ok(!keyOpHashes(r).includes(o.hash), `${o.body.type} by a non-admin is not a key op`)
  }
  assert.deepEqual(epochOf(r), { id: e1, op: first.hash, holders: ids(readers()) })
  assert.deepEqual(keyOpHashes(r), [first.hash])
  // Promoted to admin, the editor may: the promotion is in the past of its next epoch op.
  at(30)
  chain.by(owner, { type: 'role', member: editor.deviceId, role: 'admin' })
  at(31)
  const e2 = newEpochId()
  const now = chain.by(editor, epochInput(e2, [editor]))
  const after = resolution(ws, chain.ops)
  assert.deepEqual(epochOf(after), { id: e2, op: now.hash, holders: [editor.deviceId] })
  assert.ok(keyOpHashes(after).includes(now.hash))
})

test('an epoch op by an admin removed concurrently is void (not current) yet a key op; one its remover had seen stays', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  const e1 = newEpochId()
  const first = chain.by(owner, epochInput(e1, readers()))
  const base = [...chain.ops]
  at(11)
  const e2 = newEpochId()
  const rotate = chain.by(admin, epochInput(e2, readers()), base)
  at(12)
  const grant = chain.by(admin, grantInput(e1, [outsider]), base)
  at(13)
  const removal = chain.by(owner, { type: 'remove', member: admin.deviceId }, base)
  const r = resolution(ws, chain.ops)
  assert.ok(r.applied.has(removal.hash))
  assert.ok(!r.applied.has(rotate.hash) && !r.applied.has(grant.hash), 'void: concurrent with its author’s removal')
  assert.deepEqual(epochOf(r), { id: e1, op: first.hash, holders: ids(readers()) })
  // Its author was an admin in its own causal past: what it sealed still opens.
  assert.deepEqual(keyOpHashes(r), [first.hash, rotate.hash, grant.hash])
  // Demoted (to editor) rather than removed: void all the same, since the rotation needs admin.
  const demoted = new Chain(ws, base[0]!)
  demoted.ops.push(...base.slice(1), rotate)
  at(13)
  demoted.by(owner, { type: 'role', member: admin.deviceId, role: 'editor' }, base)
  const d = resolution(ws, demoted.ops)
  assert.deepEqual(epochOf(d)?.id, e1)
  assert.ok(keyOpHashes(d).includes(rotate.hash))
  // Had the owner seen the rotation before removing its author, the rotation would stay current.
  const seen = new Chain(ws, base[0]!)
  seen.ops.push(...base.slice(1), rotate)
  at(14)
  seen.by(owner, { type: 'remove', member: admin.deviceId })
  assert.deepEqual(epochOf(resolution(ws, seen.ops)), { id: e2, op: rotate.hash, holders: ids(readers()) })
})

test('a removed admin cannot rotate: not knowing its removal, nor back-dating an epoch op to before it', (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  const e1 = newEpochId()
  const first = chain.by(owner, epochInput(e1, readers()))
  const base = [...chain.ops]
  at(11)
  chain.by(owner, { type: 'remove', member: admin.deviceId })
  // Made after the removal, knowing it: never a key op.
  at(12)
  const knowing = chain.by(admin, epochInput(newEpochId(), [admin, outsider]))
  // Made after the removal too, but back-dated: an earlier time and `prev` from before the removal.
  at(5)
  const backdated = chain.by(admin, epochInput(newEpochId(), [admin, outsider]), base)
  at(6)
  const backGrant = chain.by(admin, grantInput(e1, [outsider]), base)
  const r = resolution(ws, chain.ops)
  for (const o of [knowing, backdated, backGrant]) assert.ok(!r.applied.has(o.hash))
  assert.deepEqual(epochOf(r), { id: e1, op: first.hash, holders: ids(readers()) })
  assert.equal(r.state.members.has(admin.deviceId), false)
  assert.ok(!keyOpHashes(r).includes(knowing.hash))
  // A back-dated op cannot be told from a concurrent one: it is a key op (it opens), but never current.
  assert.ok(keyOpHashes(r).includes(backdated.hash) && keyOpHashes(r).includes(backGrant.hash))
})

test('two admins rotating concurrently: every peer, in any order, picks the same epoch; a later rotation naming both wins', (t) => {
  const rnd = seededRandom('epoch ops: concurrent rotations')
  for (const [aAt, bAt] of [
    [11, 12],
    [12, 11],
    [11, 11],
  ] as const) {
    const { ws, at, chain } = team(t)
    at(10)
    const e0 = newEpochId()
    chain.by(owner, epochInput(e0, readers()))
    const base = [...chain.ops]
    at(aAt)
    const a = chain.by(admin, epochInput(newEpochId(), readers()), base)
    at(bAt)
    const b = chain.by(admin2, epochInput(newEpochId(), [owner, admin2]), base)
    // A grant of each, by its own author, made knowing only its own rotation.
    at(13)
    const ga = chain.by(admin, grantInput((a.body as { epoch: string }).epoch, [outsider]), [...base, a])
    at(13)
    const gb = chain.by(admin2, grantInput((b.body as { epoch: string }).epoch, [editor]), [...base, b])
    const views = everyPeer(ws, chain.ops, rnd, 12)
    for (const v of views) assert.deepEqual(v, views[0])
    const r = resolution(ws, chain.ops)
    // Same causal past size: the later `at` wins, then the greater hash (rule 4).
    const winner = aAt !== bAt ? (aAt > bAt ? a : b) : a.hash > b.hash ? a : b
    assert.equal(r.state.epoch?.op, winner.hash)
    // A grant made after both rotations, in resolve's order, applies only if it grants the winner.
    const winnerGrant = winner === a ? ga : gb
    const loserGrant = winner === a ? gb : ga
    assert.ok(r.applied.has(winnerGrant.hash) && !r.applied.has(loserGrant.hash))
    assert.ok(r.applied.has(a.hash) && r.applied.has(b.hash), 'both took effect; one is current')
    // A rotation naming both ends the race, on every peer.
    at(20)
    const e3 = newEpochId()
    const links: [string, Uint8Array][] = [a, b].map((o) => [(o.body as { epoch: string }).epoch, new Uint8Array(72)])
    const last = chain.by(owner, epochInput(e3, readers(), links))
    const settled = everyPeer(ws, chain.ops, rnd, 8)
    for (const v of settled) assert.deepEqual(v, settled[0])
    assert.deepEqual((settled[0] as { epoch: unknown }).epoch, { id: e3, op: last.hash, holders: ids(readers()) })
    t.mock.timers.reset()
  }
})

test('a rotation concurrent with the removal of its author loses to the epoch before, on every peer', (t) => {
  const rnd = seededRandom('epoch ops: rotation vs removal')
  const { ws, at, chain } = team(t)
  at(10)
  const e1 = newEpochId()
  const first = chain.by(owner, epochInput(e1, readers()))
  const base = [...chain.ops]
  at(11)
  chain.by(admin2, epochInput(newEpochId(), readers()), base)
  // The removal is older by the clock: order by time must not matter, only the causal graph.
  at(9)
  chain.by(admin, { type: 'remove', member: admin2.deviceId }, base)
  const views = everyPeer(ws, chain.ops, rnd, 12)
  for (const v of views) assert.deepEqual(v, views[0])
  assert.deepEqual((views[0] as { epoch: unknown }).epoch, { id: e1, op: first.hash, holders: ids(readers()) })
})

// --- the keeper role ---

test('a demotion from editor to keeper revokes writing: a write revocation, and the keeper is judged read-only', (t) => {
  const { ws, at, chain } = team(t)
  const graph = new OpGraph(ws)
  graph.add(chain.ops)
  const before = graph.heads()
  at(10)
  const demote = chain.by(owner, { type: 'role', member: editor.deviceId, role: 'keeper' })
  graph.add([demote])
  const after = graph.heads()
  const r = graph.resolution()!
  assert.equal(r.state.members.get(editor.deviceId)?.role, 'keeper')
  assert.deepEqual(
    r.writeRevocations().filter((w) => w.device === editor.deviceId),
    [{ op: demote.hash, device: editor.deviceId }],
  )
  assert.equal((r.judge(editor.deviceId, after) as { reason: string }).reason, 'read-only')
  assert.equal((r.judge(editor.deviceId, null) as { reason: string }).reason, 'read-only')
  // A change made not knowing the demotion is revoked (it needs someone else's endorsement).
  assert.equal((r.judge(editor.deviceId, before) as { reason: string }).reason, 'revoked')
  // Promoted back to editor it writes again; a promotion is no revocation.
  at(11)
  const promote = chain.by(owner, { type: 'role', member: editor.deviceId, role: 'editor' })
  graph.add([promote])
  const again = graph.resolution()!
  assert.deepEqual(again.judge(editor.deviceId, graph.heads()), { ok: true })
  assert.ok(!again.writeRevocations().some((w) => w.op === promote.hash))
})

test('a keeper added by an add op is a member that cannot write, rotate or grant, but may rename itself and leave', (t) => {
  const { ws, at, chain } = team(t)
  const graph = new OpGraph(ws)
  graph.add(chain.ops)
  const r = graph.resolution()!
  assert.equal(r.state.members.get(keeper.deviceId)?.role, 'keeper')
  assert.equal(r.state.members.get(keeper.deviceId)?.addedBy, owner.deviceId)
  assert.equal((r.judge(keeper.deviceId, graph.heads()) as { reason: string }).reason, 'read-only')
  assert.equal((r.judge(keeper.deviceId, null) as { reason: string }).reason, 'read-only')
  at(10)
  const rename = chain.by(keeper, { type: 'name', name: 'Vault' })
  at(11)
  const add = chain.by(keeper, { type: 'add', member: outsider.deviceId, name: 'Oz', role: 'editor' })
  graph.add([rename, add])
  const named = graph.resolution()!
  assert.ok(named.applied.has(rename.hash) && !named.applied.has(add.hash))
  assert.equal(named.state.members.get(keeper.deviceId)?.name, 'Vault')
  at(12)
  const leave = chain.by(keeper, { type: 'remove', member: keeper.deviceId })
  graph.add([leave])
  assert.equal(graph.resolution()!.state.members.has(keeper.deviceId), false)
})

test('a viewer demoted to keeper loses reading only: no write revocation, and none of its ops is voided', (t) => {
  const { ws, at, chain } = team(t)
  const base = [...chain.ops]
  at(10)
  const demote = chain.by(admin, { type: 'role', member: viewer.deviceId, role: 'keeper' }, base)
  // Concurrently the viewer renames itself: that needs membership, which a demotion does not take.
  at(11)
  const rename = chain.by(viewer, { type: 'name', name: 'Violet' }, base)
  const r = resolution(ws, chain.ops)
  assert.ok(r.applied.has(demote.hash) && r.applied.has(rename.hash))
  assert.equal(r.state.members.get(viewer.deviceId)?.role, 'keeper')
  assert.equal(r.state.members.get(viewer.deviceId)?.name, 'Violet')
  assert.deepEqual(r.writeRevocations(), [])
})

test('an admin demoted to keeper concurrently loses its concurrent ops; two admins demoting each other both become keepers', (t) => {
  const rnd = seededRandom('epoch ops: mutual demotion to keeper')
  const { ws, at, chain } = team(t)
  const base = [...chain.ops]
  at(10)
  const a = chain.by(admin, { type: 'role', member: admin2.deviceId, role: 'keeper' }, base)
  at(11)
  const b = chain.by(admin2, { type: 'role', member: admin.deviceId, role: 'keeper' }, base)
  // Each one's other ops concurrent with its own demotion are void: a rotation and an add.
  at(12)
  const rotate = chain.by(admin, epochInput(newEpochId(), readers()), base)
  at(13)
  const add = chain.by(admin2, { type: 'add', member: outsider.deviceId, name: 'Oz', role: 'viewer' }, [...base, b])
  const views = everyPeer(ws, chain.ops, rnd, 12)
  for (const v of views) assert.deepEqual(v, views[0])
  const r = resolution(ws, chain.ops)
  assert.ok(r.applied.has(a.hash) && r.applied.has(b.hash), 'mutual revocations both take effect (rule 3)')
  assert.equal(r.state.members.get(admin.deviceId)?.role, 'keeper')
  assert.equal(r.state.members.get(admin2.deviceId)?.role, 'keeper')
  assert.ok(!r.applied.has(rotate.hash) && !r.applied.has(add.hash))
  assert.equal(r.state.epoch, null)
  assert.ok(keyOpHashes(r).includes(rotate.hash), 'its author was an admin in its past')
  const revoked = r
    .writeRevocations()
    .map((w) => w.device)
    .sort()
  assert.deepEqual(revoked, ids([admin, admin2]))
})

// --- the op schema ---

test('the op schema refuses wrong-size lockboxes and chain boxes, two boxes for one device, and bad epoch ids', (t) => {
  const { ws, chain } = team(t)
  const prev = heads(chain.ops)
  const id = newEpochId()
  const box = (n: number): Uint8Array => new Uint8Array(n).fill(7)
  const epoch = (input: Record<string, unknown>): VerifiedOp | null =>
    verifyOp(
      ws,
      makeOp(owner, ws, { type: 'epoch', epoch: id, boxes: [[editor.deviceId, box(80)]], links: [], ...input } as Input, prev).op,
    )
  const grant = (input: Record<string, unknown>): VerifiedOp | null =>
    verifyOp(ws, makeOp(owner, ws, { type: 'grant', epoch: id, boxes: [[editor.deviceId, box(80)]], ...input } as Input, prev).op)
  // Well-formed: they verify, empty lists included.
  assert.ok(epoch({}))
  assert.ok(grant({}))
  assert.ok(epoch({ boxes: [], links: [[newEpochId(), box(72)]] }))
  const verified = epoch({ boxes: [[editor.deviceId, box(80)]] })!
  assert.ok(verified.body.type === 'epoch' && verified.body.boxes[0]![1] instanceof Uint8Array)
  for (const n of [0, 79, 81, 72]) {
    assert.equal(epoch({ boxes: [[editor.deviceId, box(n)]] }), null, `an epoch op's ${n}-byte lockbox`)
    assert.equal(grant({ boxes: [[editor.deviceId, box(n)]] }), null, `a grant's ${n}-byte lockbox`)
  }
  assert.equal(epoch({ boxes: [[editor.deviceId, 'x'.repeat(80)]] }), null, 'a lockbox that is not bytes')
  for (const n of [71, 73, 80]) assert.equal(epoch({ links: [[newEpochId(), box(n)]] }), null, `a ${n}-byte chain box`)
  const twice = [
    [editor.deviceId, box(80)],
    [editor.deviceId, box(80)],
  ]
  assert.equal(epoch({ boxes: twice }), null, 'two lockboxes for one device in an epoch op')
  assert.equal(grant({ boxes: twice }), null, 'two lockboxes for one device in a grant')
  for (const bad of [id.slice(1), `${id}0`, id.toUpperCase(), `${id.slice(1)}g`, id + id, '']) {
    assert.equal(epoch({ epoch: bad }), null, `epoch id '${bad}'`)
    assert.equal(grant({ epoch: bad }), null, `grant of epoch id '${bad}'`)
    assert.equal(epoch({ links: [[bad, box(72)]] }), null, `chain link from epoch id '${bad}'`)
  }
  assert.equal(epoch({ boxes: [['not a device id!', box(80)]] }), null, 'a lockbox for something not a device id')
  const many = Array.from({ length: MAX_LOCKBOXES_PER_OP + 1 }, (_, k): [string, Uint8Array] => [
    `Device${String(k).padStart(6, '0')}`,
    box(80),
  ])
  assert.ok(epoch({ boxes: many.slice(1) }), `${MAX_LOCKBOXES_PER_OP} lockboxes are fine`)
  assert.equal(epoch({ boxes: many }), null, `${MAX_LOCKBOXES_PER_OP + 1} are too many`)
  const noLinks = { type: 'epoch', epoch: id, boxes: [] } as unknown as Input
  assert.equal(verifyOp(ws, makeOp(owner, ws, noLinks, prev).op), null, 'an epoch op without links')
})

test('an epoch op with real lockboxes: each holder opens its own box, and nobody opens another’s', async (t) => {
  const { ws, at, chain } = team(t)
  at(10)
  const id = newEpochId()
  const key = newEpochKey(ws, id)
  const to = [owner, editor, viewer]
  const boxes: [string, Uint8Array][] = await Promise.all(
    to.map(async (d) => [d.deviceId, await sealTo(d.deviceId, key)] as [string, Uint8Array]),
  )
  const op = chain.by(admin, { type: 'epoch', epoch: id, boxes, links: [] })
  // Through the wire form and back (CBOR, signature): the verified op carries the same boxes.
  const verified = verifyOp(ws, op.op)?.body
  assert.ok(verified?.type === 'epoch')
  assert.deepEqual(verified.boxes, boxes)
  const r = resolution(ws, chain.ops)
  assert.deepEqual(epochOf(r)?.holders, ids(to))
  const keyOp = r.keyOps()[0]?.body
  assert.ok(keyOp?.type === 'epoch')
  const sealed: [string, Uint8Array][] = keyOp.boxes
  for (const [k, d] of to.entries()) {
    const [deviceId, b] = sealed[k]!
    assert.equal(deviceId, d.deviceId)
    const opened = await openLockbox(d, b, { workspaceId: ws, epochId: id })
    assert.deepEqual(opened.key, key.key)
  }
  await assert.rejects(openLockbox(keeper, sealed[0]![1], { workspaceId: ws, epochId: id }), { kind: 'auth-failed' })
  // Bound to its epoch: the same box does not open as another epoch's.
  await assert.rejects(openLockbox(owner, sealed[0]![1], { workspaceId: ws, epochId: newEpochId() }), { kind: 'auth-failed' })
  // replayOps (what the peer's other callers use) resolves the same epoch.
  assert.equal(replayOps(ws, chain.ops)?.state.epoch?.id, id)
})

// --- cases an earlier Resolved.label got wrong (its stall step), as `resolve`'s doc promises ---

test("two admins revoking each other: rule 2 still voids one's other revocations concurrent with its removal", (t) => {
  const { ws, at, chain } = team(t)
  const base = [...chain.ops]
  at(10)
  const a = chain.by(admin, { type: 'remove', member: admin2.deviceId }, base)
  at(11)
  const b = chain.by(admin2, { type: 'remove', member: admin.deviceId }, base)
  // The admin also removes the viewer and demotes the editor to keeper, not knowing of its removal
  // (or back-dating them, as a removed admin could, to take everyone down with it).
  at(12)
  const removeViewer = chain.by(admin, { type: 'remove', member: viewer.deviceId }, base)
  at(13)
  const demoteEditor = chain.by(admin, { type: 'role', member: editor.deviceId, role: 'keeper' }, base)
  const r = resolution(ws, chain.ops)
  assert.ok(r.applied.has(a.hash) && r.applied.has(b.hash), 'the revocations of each other both take effect (rule 3)')
  assert.ok(!r.applied.has(removeViewer.hash), 'the removal of the viewer is concurrent with its author’s removal (rule 2)')
  assert.ok(!r.applied.has(demoteEditor.hash), 'so is the demotion of the editor')
  assert.equal(r.state.members.get(viewer.deviceId)?.role, 'viewer')
  assert.equal(r.state.members.get(editor.deviceId)?.role, 'editor')
})

for (const seen of ['epoch', 'add'] as const) {
  test(`a removal wins over its target's concurrent demotion of an admin, also when the remover had seen that admin's ${seen} op`, (t) => {
    const { ws, at, chain } = team(t)
    const base = [...chain.ops]
    at(10)
    const demote = chain.by(admin, { type: 'role', member: admin2.deviceId, role: 'editor' }, base)
    // Concurrently admin2 rotates (or adds someone); the owner sees that, not the demotion, and removes the admin.
    at(11)
    const other = chain.by(
      admin2,
      seen === 'epoch' ? epochInput(newEpochId(), readers()) : { type: 'add', member: outsider.deviceId, name: 'Oz', role: 'viewer' },
      base,
    )
    at(12)
    const removal = chain.by(owner, { type: 'remove', member: admin.deviceId }, [...base, other])
    const r = resolution(ws, chain.ops)
    assert.ok(r.applied.has(removal.hash))
    assert.ok(!r.applied.has(demote.hash), 'the demotion is concurrent with its author’s removal (rule 2)')
    assert.ok(r.applied.has(other.hash), 'so admin2 stayed an admin, and its op stands')
    assert.equal(r.state.members.get(admin2.deviceId)?.role, 'admin')
    // As when the owner had not seen it.
    const unseen = new Chain(ws, base[0]!)
    unseen.ops.push(...base.slice(1), demote, other)
    at(12)
    const blind = unseen.by(owner, { type: 'remove', member: admin.deviceId }, base)
    const u = resolution(ws, unseen.ops)
    assert.ok(u.applied.has(blind.hash) && !u.applied.has(demote.hash) && u.applied.has(other.hash))
  })
}
