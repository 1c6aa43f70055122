import { before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { decode, encode } from 'cborg'
import { tempDir } from '../test/helpers.ts'
import { SqliteStore } from '../store/sqlite-store.ts'
import { loadOrCreateDevice, type Device } from '../identity/device.ts'
import { sha256, signPayload } from '../identity/keys.ts'
import type { SignedOp } from '../wire/peer-protocol.ts'
import { createWorkspaceOp, makeOp, replay, verifyOp, type OpBody, type VerifiedOp } from './membership.ts'

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

/** A workspace by `owner` with admin, editor and viewer added at t=1, 2, 3. */
function team(t: TestContext): { ws: string; ops: VerifiedOp[]; at: (ms: number) => void } {
  const at = clock(t)
  const { workspaceId: ws, op } = createWorkspaceOp(owner, 'Team', 'Olive')
  const ops = [op]
  at(1)
  ops.push(makeOp(owner, ws, { type: 'add', member: admin.deviceId, name: 'Ada', role: 'admin' }))
  at(2)
  ops.push(makeOp(owner, ws, { type: 'add', member: editor.deviceId, name: 'Ed', role: 'editor' }))
  at(3)
  ops.push(makeOp(admin, ws, { type: 'add', member: viewer.deviceId, name: 'Vi', role: 'viewer' }))
  return { ws, ops, at }
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
  const { ws, ops, at } = team(t)
  at(10)
  const byEditor = makeOp(editor, ws, { type: 'add', member: outsider.deviceId, name: 'X', role: 'editor' })
  at(11)
  const byViewer = makeOp(viewer, ws, { type: 'add', member: outsider.deviceId, name: 'X', role: 'viewer' })
  at(12)
  const byOutsider = verifyOp(
    ws,
    forge(outsider, ws, {
      type: 'add',
      v: 1,
      ws,
      by: outsider.deviceId,
      at: Date.now(),
      prev: [],
      member: outsider.deviceId,
      name: 'X',
      role: 'admin',
    }),
  )!
  at(13)
  const asOwner = makeOp(admin, ws, { type: 'add', member: outsider.deviceId, name: 'X', role: 'owner' })
  at(14)
  const promote = makeOp(editor, ws, { type: 'role', member: editor.deviceId, role: 'admin' })
  const after = roles(ws, [...ops, byEditor, byViewer, byOutsider, asOwner, promote])
  assert.equal(after[outsider.deviceId], undefined)
  assert.equal(after[editor.deviceId], 'editor')
})

test('the owner cannot be removed, demoted, or doubled', (t) => {
  const { ws, ops, at } = team(t)
  at(10)
  const remove = makeOp(admin, ws, { type: 'remove', member: owner.deviceId })
  at(11)
  const demote = makeOp(admin, ws, { type: 'role', member: owner.deviceId, role: 'viewer' })
  at(12)
  const crown = makeOp(admin, ws, { type: 'role', member: editor.deviceId, role: 'owner' })
  const after = replay(ws, [...ops, remove, demote, crown])!
  assert.equal(after.members.get(owner.deviceId)?.role, 'owner')
  assert.equal(after.members.get(editor.deviceId)?.role, 'editor')
  assert.equal(after.ownerId, owner.deviceId)
})

test('a removed member can no longer act', (t) => {
  const { ws, ops, at } = team(t)
  at(10)
  const removeAdmin = makeOp(owner, ws, { type: 'remove', member: admin.deviceId })
  at(11)
  const addByRemoved = makeOp(admin, ws, { type: 'add', member: outsider.deviceId, name: 'X', role: 'editor' })
  at(12)
  const removeByRemoved = makeOp(admin, ws, { type: 'remove', member: editor.deviceId })
  at(13)
  const renameByRemoved = makeOp(admin, ws, { type: 'name', name: 'Ghost' })
  const after = roles(ws, [...ops, removeAdmin, addByRemoved, removeByRemoved, renameByRemoved])
  assert.equal(after[admin.deviceId], undefined)
  assert.equal(after[outsider.deviceId], undefined)
  assert.equal(after[editor.deviceId], 'editor')
  // Before the removal, the same admin could act.
  assert.equal(roles(ws, [...ops, addByRemoved])[outsider.deviceId], 'editor')
})

test('a removed admin cannot backdate an op to before its removal', {}, (t) => {
  const { ws, ops, at } = team(t)
  at(10)
  const removeAdmin = makeOp(owner, ws, { type: 'remove', member: admin.deviceId })
  at(5)
  const backdated = makeOp(admin, ws, { type: 'add', member: outsider.deviceId, name: 'X', role: 'admin' })
  assert.equal(roles(ws, [...ops, removeAdmin, backdated])[outsider.deviceId], undefined)
})

test('a name op renames only its author; a role op by an admin changes a role', (t) => {
  const { ws, ops, at } = team(t)
  at(10)
  const rename = makeOp(editor, ws, { type: 'name', name: 'Edwina' })
  at(11)
  const viewerRename = makeOp(viewer, ws, { type: 'name', name: 'Violet' })
  at(12)
  const promote = makeOp(admin, ws, { type: 'role', member: viewer.deviceId, role: 'editor' })
  const state = replay(ws, [...ops, rename, viewerRename, promote])!
  const names = Object.fromEntries([...state.members.values()].map((m) => [m.deviceId, m.name]))
  assert.deepEqual(names, { [owner.deviceId]: 'Olive', [admin.deviceId]: 'Ada', [editor.deviceId]: 'Edwina', [viewer.deviceId]: 'Violet' })
  assert.equal(state.members.get(viewer.deviceId)?.role, 'editor')
  assert.equal(state.name, 'Team', 'a member name op does not rename the workspace')
})
