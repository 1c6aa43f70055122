/**
 * Bad input from every side: hostile gossip (from a stranger's raw libp2p node and from members
 * misbehaving), hostile catch-up sessions, malformed client requests, and invites that must not work.
 * Each case checks that the rejection is clear (counted by reason, or a GrapevineError with a code),
 * that the peer keeps serving, and that the document and membership are exactly as before.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decode } from 'cborg'
import * as A from '@automerge/automerge'
import {
  GOSSIPSUB_MAX_INBOUND_BYTES, MAX_CHANGE_BYTES, MAX_GOSSIP_MESSAGE_BYTES, MAX_INVITE_CODE_CHARS,
} from '../../../shared/limits.ts'
import { GrapevineError, type PeerClient } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import type { GrapevineNode } from '../net/node.ts'
import { signChange } from '../sync/change-validation.ts'
import { makeOp } from '../workspace/membership.ts'
import { encodeInvite } from '../workspace/invites.ts'
import { encodeMessage, workspaceTopic, type InvitePayload, type SignedChange } from '../wire/peer-protocol.ts'
import type { Device } from '../identity/device.ts'
import { startPeer, tempDir, waitFor } from './helpers.ts'
import { catchupInject, changeOnTop, meshWith, startAttackerNode, throwawayDevice } from './attacker.ts'

type Dir = ReturnType<typeof tempDir>

/** Asserts that `p` rejects with a GrapevineError whose code is one of `codes`. */
async function rejectsWith(p: Promise<unknown>, codes: string[], what: string): Promise<GrapevineError> {
  let caught: unknown
  await assert.rejects(p, (err: unknown) => {
    caught = err
    return true
  }, `${what}: expected a rejection`)
  assert.ok(caught instanceof GrapevineError, `${what}: expected a GrapevineError, got ${String(caught)}`)
  assert.ok(codes.includes(caught.code), `${what}: expected code ${codes.join(' or ')}, got ${caught.code} (${caught.message})`)
  assert.ok(caught.message.length > 0, `${what}: the error should say what is wrong`)
  return caught
}

/** A request with whatever method and params, bypassing the client's types. */
const rawRequest = (c: PeerClient, method: string, params: unknown): Promise<unknown> => c.request(method as never, params as never)

async function stopAll(peers: (Peer | undefined)[], dirs: Dir[]): Promise<void> {
  await Promise.allSettled(peers.map((p) => p?.stop()))
  for (const d of dirs) d.remove()
}

// ---------------------------------------------------------------------------------------------------------------------

describe('gossip and catch-up from bad peers', () => {
  const dirs: Dir[] = []
  let victim: Peer | undefined
  let member: Peer | undefined // an editor who misbehaves on the wire
  let viewer: Peer | undefined // a viewer who tries to write
  let attacker: GrapevineNode | undefined // a stranger's bare libp2p node
  let outsider: { device: Device; close(): void } | undefined // a stranger's device identity
  let vc: PeerClient
  let ws: string
  let docId: string
  let topic: string
  let docBytes: Uint8Array
  let baseline: { text: string; title: string; heads: string[] }

  const V = () => victim!
  const M = () => member!
  const R = () => viewer!
  const X = () => attacker!

  before(async () => {
    for (let i = 0; i < 3; i++) dirs.push(tempDir())
    victim = await startPeer(dirs[0]!.path, { name: 'Victim' })
    member = await startPeer(dirs[1]!.path, { name: 'Mallory' })
    viewer = await startPeer(dirs[2]!.path, { name: 'Vera' })
    vc = victim.connect()
    ws = (await vc.request('workspace.create', { name: 'Team' })).id
    docId = (await vc.request('doc.create', { workspaceId: ws, title: 'Plan', text: 'hello world' })).id
    const editorInvite = await vc.request('workspace.invite', { workspaceId: ws })
    await member.connect().request('workspace.join', { code: editorInvite.code })
    const viewerInvite = await vc.request('workspace.invite', { workspaceId: ws, role: 'viewer' })
    await viewer.connect().request('workspace.join', { code: viewerInvite.code })
    for (const p of [member, viewer]) {
      const c = p.connect()
      await waitFor('the document to reach the teammate', async () => (await c.request('doc.read', { docId })).text === 'hello world')
    }
    topic = workspaceTopic(ws)
    attacker = await startAttackerNode()
    outsider = await throwawayDevice()
    await Promise.all([meshWith(attacker, victim, topic), meshWith(member.node, victim, topic), meshWith(viewer.node, victim, topic)])
    const opened = await vc.request('doc.open', { docId })
    docBytes = opened.bytes
    await vc.request('doc.close', { docId })
    const read = await vc.request('doc.read', { docId })
    baseline = { text: read.text, title: read.title, heads: read.heads }
    assert.deepEqual(opened.heads, read.heads)
  })

  after(async () => {
    await Promise.allSettled([attacker?.stop()])
    outsider?.close()
    await stopAll([victim, member, viewer], dirs)
  })

  /** The victim still answers, and the document is exactly as before. */
  async function assertUnchanged(): Promise<void> {
    await V().settle()
    const read = await vc.request('doc.read', { docId })
    assert.equal(read.text, baseline.text)
    assert.equal(read.title, baseline.title)
    assert.deepEqual(read.heads, baseline.heads)
    const docs = await vc.request('doc.list', { workspaceId: ws })
    assert.deepEqual(docs.map((d) => d.id), [docId])
    const members = await vc.request('workspace.members', { workspaceId: ws })
    assert.equal(members.length, 3)
  }

  const rejected = (reason: string): number => V().stats().gossip.rejected[reason] ?? 0

  /** Publishes each payload from `from` and waits until the victim has rejected all of them for `reason`. */
  async function gossipRejected(from: GrapevineNode, reason: string, payloads: Uint8Array[]): Promise<void> {
    const before = rejected(reason)
    const accepted = V().stats().gossip.accepted
    for (const data of payloads) {
      const res = await from.services.pubsub.publish(topic, data)
      assert.ok(res.recipients.some((p) => p.equals(V().node.peerId)), 'the victim should be among the recipients')
    }
    await waitFor(`the victim to reject ${payloads.length} message(s) as ${reason}`, () => rejected(reason) >= before + payloads.length, 15_000)
    assert.equal(rejected(reason), before + payloads.length)
    // Heads announcements from honest teammates may be accepted meanwhile; nothing else is.
    assert.ok(V().stats().gossip.accepted - accepted <= 2, 'no bad message may be accepted')
    await assertUnchanged()
  }

  /** A change on top of the victim's document, by `actor`, signed by `signer`, as one gossip/catch-up item. */
  const item = (signer: Device, actor = signer.actorPrefix + '0123456789abcdef', text = 'EVIL '): SignedChange =>
    signChange(signer, ws, docId, changeOnTop(docBytes, actor, text))
  const changesMessage = (items: SignedChange[], w = ws): Uint8Array => encodeMessage({ t: 'changes', v: 1, ws: w, doc: docId, items })

  it('rejects an oversized gossip message as too-large', async () => {
    const big = new Uint8Array(MAX_GOSSIP_MESSAGE_BYTES + 64 * 1024).fill(0xa5)
    assert.ok(big.byteLength < GOSSIPSUB_MAX_INBOUND_BYTES - 64 * 1024, 'gossipsub itself must let it through')
    await gossipRejected(X(), 'too-large', [big])
  })

  it('rejects truncated and garbage gossip messages as malformed', async () => {
    const valid = changesMessage([item(outsider!.device)])
    await gossipRejected(X(), 'malformed', [
      valid.subarray(0, Math.floor(valid.byteLength / 2)), // truncated CBOR
      new TextEncoder().encode('this is not CBOR, just some text'), // garbage
      new Uint8Array([0xff, 0xff, 0xff, 0xff]), // invalid CBOR
      new Uint8Array(0), // empty
      encodeMessage({ t: 'changes', v: 2, ws, doc: docId, items: [] }), // CBOR of the wrong shape
      encodeMessage({ t: 'changes', v: 1, ws, doc: docId, items: [{ a: 'x', s: 1, c: 'y' }] }),
      encodeMessage(['changes', 1, ws]),
    ])
  })

  it("rejects a validly signed change from a non-member's node as not-member", async () => {
    const msg = changesMessage([item(outsider!.device)])
    await gossipRejected(X(), 'not-member', [msg, encodeMessage({ t: 'heads', v: 1, ws, docs: [[docId, []]] })])
  })

  it("rejects a member's message carrying a non-member's signed change as not-member", async () => {
    await gossipRejected(M().node, 'not-member', [changesMessage([item(outsider!.device)])])
  })

  it('rejects a message about another workspace on this topic as wrong-topic', async () => {
    await gossipRejected(M().node, 'wrong-topic', [changesMessage([item(M().device)], 'f'.repeat(32))])
  })

  it("rejects a change whose actor is not the signer's as foreign-actor", async () => {
    await gossipRejected(M().node, 'foreign-actor', [
      changesMessage([item(M().device, 'ab'.repeat(24))]),
      // The victim's own actor prefix, signed by the member: still not the member's.
      changesMessage([item(M().device, V().device.actorPrefix + 'abcdefabcdefabcd')]),
      // The right prefix but not the right length.
      changesMessage([item(M().device, M().device.actorPrefix + 'ab')]),
    ])
  })

  it('rejects a change with a corrupted signature as bad-signature', async () => {
    const good = item(M().device)
    const flipped = { ...good, s: Uint8Array.from(good.s, (b, i) => (i === 0 ? b ^ 0xff : b)) }
    // A signature by the member over another document's payload does not verify for this one either.
    const otherDoc = signChange(M().device, ws, 'someotherdoc', good.c)
    await gossipRejected(M().node, 'bad-signature', [changesMessage([flipped]), changesMessage([{ ...good, s: otherDoc.s }])])
  })

  it('rejects signed bytes that are not an Automerge change as bad-change', async () => {
    const garbage = new TextEncoder().encode('not an automerge change')
    await gossipRejected(M().node, 'bad-change', [changesMessage([signChange(M().device, ws, docId, garbage)])])
  })

  it("rejects a viewer's change as read-only", async () => {
    await gossipRejected(R().node, 'read-only', [changesMessage([item(R().device)])])
  })

  it('rejects a whole bundle when one of its changes is bad, applying none of it', async () => {
    const good = item(M().device, undefined, 'GOOD ')
    await gossipRejected(M().node, 'foreign-actor', [changesMessage([good, item(M().device, 'cd'.repeat(24))])])
  })

  it('rejects the same bad changes over catch-up', async () => {
    const good = item(M().device)
    const bad = [
      item(outsider!.device), // not a member
      item(R().device), // a viewer
      item(M().device, 'ab'.repeat(24)), // foreign actor
      { ...good, s: new Uint8Array(64) }, // bad signature
      signChange(M().device, ws, docId, new TextEncoder().encode('garbage')), // not a change
    ]
    const before = V().stats().catchup.rejected
    const frames = await catchupInject(M().node, V().node.peerId, ws, docId, bad)
    assert.equal(frames[0]?.t, 'want')
    assert.equal(frames.at(-1)?.t, 'end')
    assert.equal(V().stats().catchup.rejected - before, bad.length)
    await assertUnchanged()
  })

  it('refuses catch-up with a stranger, whatever it sends', async () => {
    const before = V().stats().catchup.rejected
    // Even with a membership op that claims to add the stranger: it is signed by nobody who may add members.
    const claim = makeOp(outsider!.device, ws, { type: 'add', member: X().peerId.toString(), name: 'Eve', role: 'admin' }).op
    const frames = await catchupInject(X(), V().node.peerId, ws, docId, [item(outsider!.device)], [claim])
    assert.equal(frames.length, 1)
    assert.equal(frames[0]?.t, 'refuse')
    assert.equal(V().stats().catchup.rejected, before)
    await assertUnchanged()
    const members = await vc.request('workspace.members', { workspaceId: ws })
    assert.ok(!members.some((m) => m.deviceId === X().peerId.toString() || m.deviceId === outsider!.device.deviceId))
  })

  it("a member's forged op adding a stranger does not make the stranger a member", async () => {
    // An editor may not add members; the op is accepted as a well-formed message but has no effect.
    const op = makeOp(M().device, ws, { type: 'add', member: X().peerId.toString(), name: 'Eve', role: 'admin' }).op
    const accepted = V().stats().gossip.accepted
    await M().node.services.pubsub.publish(topic, encodeMessage({ t: 'members', v: 1, ws, ops: [op] }))
    await waitFor('the victim to take the members message', () => V().stats().gossip.accepted > accepted, 15_000)
    const members = await vc.request('workspace.members', { workspaceId: ws })
    assert.ok(!members.some((m) => m.deviceId === X().peerId.toString()))
    // The stranger is still a stranger on the wire.
    await gossipRejected(X(), 'not-member', [changesMessage([item(outsider!.device)])])
  })

  it('does not keep or pass on membership ops that a stranger signed', {
  }, async () => {
    const junk = makeOp(outsider!.device, ws, { type: 'name', name: 'junk' }).op
    const frames = await catchupInject(X(), V().node.peerId, ws, docId, [], [junk])
    assert.equal(frames[0]?.t, 'refuse')
    // What the victim would hand a member who has no ops at all: every op it keeps for the workspace.
    const fromMember = await catchupInject(M().node, V().node.peerId, ws, docId, [])
    const want = fromMember[0]
    assert.equal(want?.t, 'want')
    const authors = want.t === 'want' ? want.ops.map((o) => o.a) : []
    assert.ok(!authors.includes(outsider!.device.deviceId), 'an op signed by a stranger was stored and is being relayed to members')
  })

  it('costs a member who sent rejected messages gossipsub score', {
  }, async () => {
    // By now the member has had a dozen messages rejected by the victim.
    // The GossipSub interface does not expose scores; the implementation does.
    const scores = V().node.services.pubsub as unknown as { getScore(peerId: string): number }
    assert.ok(scores.getScore(M().node.peerId.toString()) < 0, 'the member should be penalised')
  })

  it("a viewer's client cannot write either", async () => {
    const rc = R().connect()
    await rejectsWith(rc.request('doc.setText', { docId, text: 'viewer was here' }), ['forbidden'], 'viewer setText')
    const change = changeOnTop(docBytes, R().device.actorPrefix + '0123456789abcdef')
    await rejectsWith(rc.request('doc.applyChanges', { docId, changes: [change] }), ['forbidden'], 'viewer applyChanges')
    await rejectsWith(rc.request('doc.create', { workspaceId: ws, title: 'x' }), ['forbidden'], 'viewer create')
    await rejectsWith(rc.request('workspace.invite', { workspaceId: ws }), ['forbidden'], 'viewer invite')
    await assertUnchanged()
  })

  it('still takes honest changes from members afterwards', async () => {
    const mc = M().connect()
    await mc.request('doc.setText', { docId, text: 'hello honest world' })
    await waitFor('the honest edit to reach the victim', async () => (await vc.request('doc.read', { docId })).text === 'hello honest world')
    const mine = await mc.request('doc.read', { docId })
    const theirs = await vc.request('doc.read', { docId })
    assert.deepEqual(theirs.heads, mine.heads)
  })
})

// ---------------------------------------------------------------------------------------------------------------------

describe('client protocol bad input', () => {
  const dir = tempDir()
  let peer: Peer | undefined
  let c: PeerClient
  let ws: string
  let docId: string
  let baseline: { text: string; heads: string[] }
  let docBytes: Uint8Array

  before(async () => {
    peer = await startPeer(dir.path, { name: 'Solo' })
    c = peer.connect()
    ws = (await c.request('workspace.create', { name: 'Solo' })).id
    docId = (await c.request('doc.create', { workspaceId: ws, title: 'Notes', text: 'hello' })).id
    const opened = await c.request('doc.open', { docId })
    docBytes = opened.bytes
    baseline = { text: 'hello', heads: opened.heads }
  })

  after(async () => stopAll([peer], [dir]))

  async function assertUnchanged(): Promise<void> {
    const read = await c.request('doc.read', { docId })
    assert.equal(read.text, baseline.text)
    assert.deepEqual(read.heads, baseline.heads)
    assert.equal((await c.request('doc.list', { workspaceId: ws })).length, 1)
    assert.equal((await c.request('workspace.list', {})).length, 1)
  }

  it('rejects unknown methods', async () => {
    for (const method of ['nope', 'doc.nope', '', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'x'.repeat(10_000)]) {
      await rejectsWith(rawRequest(c, method, {}), ['bad-request'], `method ${method.slice(0, 20)}`)
    }
    await assertUnchanged()
  })

  it('rejects params of the wrong shape', async () => {
    const cases: [string, unknown][] = [
      ['doc.read', { docId: 42 }],
      ['doc.read', {}],
      ['doc.read', null],
      ['doc.read', 'docId'],
      ['doc.read', [docId]],
      ['doc.read', { docId: '../../etc/passwd' }],
      ['doc.read', { docId: 'x'.repeat(129) }],
      ['doc.setText', { docId, text: 5 }],
      ['doc.setText', { docId }],
      ['doc.applyChanges', { docId, changes: [] }],
      ['doc.applyChanges', { docId, changes: ['not bytes'] }],
      ['doc.applyChanges', { docId, changes: [[1, 2, 3]] }],
      ['doc.applyChanges', { docId, changes: new Uint8Array(4) }],
      ['doc.applyChanges', { docId, changes: Array.from({ length: 513 }, () => new Uint8Array(1)) }],
      ['workspace.create', { name: '' }],
      ['workspace.create', { name: '   ' }],
      ['workspace.create', { name: 'x'.repeat(65) }],
      ['workspace.invite', { workspaceId: ws, ttlMs: 10 }],
      ['workspace.invite', { workspaceId: ws, ttlMs: 1.5e12 }],
      ['workspace.invite', { workspaceId: ws, role: 'owner' }],
      ['workspace.invite', { workspaceId: ws, role: 'god' }],
      ['workspace.join', { code: '' }],
      ['workspace.join', { code: 'x'.repeat(MAX_INVITE_CODE_CHARS + 1) }],
      ['doc.create', { workspaceId: ws, title: 'x'.repeat(201) }],
      ['doc.create', { workspaceId: ws }],
      ['peer.dial', { address: '' }],
    ]
    for (const [method, params] of cases) {
      await rejectsWith(rawRequest(c, method, params), ['bad-request'], `${method} ${JSON.stringify(params)?.slice(0, 60)}`)
    }
    await assertUnchanged()
  })

  it('rejects an oversized change', async () => {
    const big = new Uint8Array(MAX_CHANGE_BYTES + 1)
    await rejectsWith(c.request('doc.applyChanges', { docId, changes: [big] }), ['bad-request', 'too-large'], 'oversized change')
    await assertUnchanged()
  })

  it('rejects bytes that are not an Automerge change', async () => {
    const valid = changeOnTop(docBytes, peer!.device.actorPrefix + '0123456789abcdef')
    for (const bytes of [new TextEncoder().encode('garbage'), new Uint8Array(0), valid.subarray(0, valid.byteLength >> 1)]) {
      await rejectsWith(c.request('doc.applyChanges', { docId, changes: [bytes] }), ['bad-request'], 'garbage change')
    }
    await assertUnchanged()
  })

  it("rejects a change whose actor lacks this device's prefix", async () => {
    for (const actor of ['ab'.repeat(24), peer!.device.actorPrefix + 'ab', 'ab'.repeat(8) + peer!.device.actorPrefix]) {
      const change = changeOnTop(docBytes, actor)
      assert.equal(A.decodeChange(change).actor, actor)
      await rejectsWith(c.request('doc.applyChanges', { docId, changes: [change] }), ['bad-request'], `actor ${actor}`)
    }
    await assertUnchanged()
  })

  it('applies none of a batch in which one change is bad', async () => {
    const good = changeOnTop(docBytes, peer!.device.actorPrefix + '0123456789abcdef', 'GOOD ')
    const foreign = changeOnTop(docBytes, 'ab'.repeat(24))
    await rejectsWith(c.request('doc.applyChanges', { docId, changes: [good, foreign] }), ['bad-request'], 'mixed batch')
    await rejectsWith(c.request('doc.applyChanges', { docId, changes: [good, new Uint8Array([1, 2, 3])] }), ['bad-request'], 'mixed batch')
    await assertUnchanged()
  })

  it('rejects requests about documents and workspaces that do not exist', async () => {
    await rejectsWith(c.request('doc.read', { docId: 'nosuchdoc' }), ['not-found'], 'missing doc')
    await rejectsWith(c.request('doc.setText', { docId: 'nosuchdoc', text: 'x' }), ['not-found'], 'missing doc')
    await rejectsWith(c.request('doc.list', { workspaceId: 'nosuchws' }), ['not-found'], 'missing workspace')
    await rejectsWith(c.request('doc.create', { workspaceId: 'nosuchws', title: 'x' }), ['not-found'], 'missing workspace')
    await assertUnchanged()
  })

  it('still takes a good change afterwards', async () => {
    const good = changeOnTop(docBytes, peer!.device.actorPrefix + '0123456789abcdef', 'GOOD ')
    const { heads } = await c.request('doc.applyChanges', { docId, changes: [good] })
    const read = await c.request('doc.read', { docId })
    assert.equal(read.text, 'GOOD hello')
    assert.deepEqual(read.heads, heads)
  })
})

// ---------------------------------------------------------------------------------------------------------------------

describe('invites that must not work', () => {
  const dirs: Dir[] = []
  let owner: Peer | undefined
  let joiner: Peer | undefined
  let other: Peer | undefined
  let oc: PeerClient
  let jc: PeerClient
  let ws: string

  before(async () => {
    for (let i = 0; i < 3; i++) dirs.push(tempDir())
    owner = await startPeer(dirs[0]!.path, { name: 'Owner' })
    joiner = await startPeer(dirs[1]!.path, { name: 'Joiner' })
    other = await startPeer(dirs[2]!.path, { name: 'Other' })
    oc = owner.connect()
    jc = joiner.connect()
    ws = (await oc.request('workspace.create', { name: 'Team' })).id
  })

  after(async () => stopAll([owner, joiner, other], dirs))

  /** The joiner belongs to nothing, and the owner's workspace does not list it. */
  async function assertJoinerOutside(): Promise<void> {
    assert.deepEqual(await jc.request('workspace.list', {}), [])
    const members = await oc.request('workspace.members', { workspaceId: ws })
    assert.ok(!members.some((m) => m.deviceId === joiner!.device.deviceId), 'the joiner must not be a member')
  }

  const payloadOf = (code: string): InvitePayload => decode(Buffer.from(code.replace(/^GV1\./, ''), 'base64url')) as InvitePayload
  const recode = (code: string, patch: Partial<InvitePayload>): string => encodeInvite({ ...payloadOf(code), ...patch }).code

  it('rejects garbage codes as invite-invalid', async () => {
    const b64 = (v: unknown) => Buffer.from(encodeMessage(v)).toString('base64url')
    const codes = [
      'hello', 'GV1.', 'GV1.!!!!', 'GV2.AAAA', 'GV1.' + Buffer.from('garbage').toString('base64url'),
      'grapevine://join/nonsense', 'grapevine://join/', 'GV1.' + b64({ v: 1 }), 'GV1.' + b64({ v: 1, ws: 'x', secret: 'y' }),
    ]
    for (const code of codes) await rejectsWith(jc.request('workspace.join', { code }), ['invite-invalid'], `code ${code}`)
    await assertJoinerOutside()
  })

  it('rejects a link with a broken percent-escape as invite-invalid', {
  }, async () => {
    await rejectsWith(jc.request('workspace.join', { code: 'grapevine://join/GV1.%ZZ' }), ['invite-invalid'], 'bad escape')
    await assertJoinerOutside()
  })

  it('rejects a well-formed invite the inviter never issued, or with the wrong secret', async () => {
    const invite = await oc.request('workspace.invite', { workspaceId: ws })
    const secret = new Uint8Array(32).fill(7)
    await rejectsWith(jc.request('workspace.join', { code: recode(invite.code, { secret }) }), ['invite-invalid'], 'wrong secret')
    await rejectsWith(jc.request('workspace.join', { code: recode(invite.code, { invite: 'deadbeefdeadbeef' }) }), ['invite-invalid'], 'unknown invite id')
    await rejectsWith(jc.request('workspace.join', { code: recode(invite.code, { ws: 'f'.repeat(32) }) }), ['invite-invalid'], 'other workspace')
    await rejectsWith(jc.request('workspace.join', { code: recode(invite.code, { addrs: ['not a multiaddr'] }) }), ['invite-invalid'], 'no address')
    await assertJoinerOutside()
    // The genuine invite still works for someone else afterwards: the wrong guesses did not burn it.
    await other!.connect().request('workspace.join', { code: invite.code })
    const members = await oc.request('workspace.members', { workspaceId: ws })
    assert.ok(members.some((m) => m.deviceId === other!.device.deviceId))
  })

  it('rejects an invite whose inviter id is not a device id as invite-invalid', {
  }, async () => {
    const invite = await oc.request('workspace.invite', { workspaceId: ws })
    await rejectsWith(jc.request('workspace.join', { code: recode(invite.code, { inviter: 'NotAPeerIdAtAll1234' }) }), ['invite-invalid'], 'bad inviter')
    await assertJoinerOutside()
  })

  it('rejects an expired invite as invite-expired, also when its expiry was tampered with', async () => {
    const invite = await oc.request('workspace.invite', { workspaceId: ws, ttlMs: 1000 })
    await waitFor('the invite to expire', () => Date.now() > invite.expiresAt + 50, 5_000)
    await rejectsWith(jc.request('workspace.join', { code: invite.code }), ['invite-expired'], 'expired invite')
    // Pushing the expiry in the code forward does not help: the inviter keeps its own.
    const tampered = recode(invite.code, { exp: Date.now() + 60 * 60 * 1000 })
    await rejectsWith(jc.request('workspace.join', { code: tampered }), ['invite-expired'], 'tampered expiry')
    await assertJoinerOutside()
  })

  it('rejects an invite someone else already used as invite-used', async () => {
    const invite = await oc.request('workspace.invite', { workspaceId: ws, role: 'viewer' })
    const third = tempDir()
    const first = await startPeer(third.path, { name: 'First' })
    try {
      const joined = await first.connect().request('workspace.join', { code: invite.code })
      assert.equal(joined.role, 'viewer')
      await rejectsWith(jc.request('workspace.join', { code: invite.code }), ['invite-used'], 'reused invite')
      await rejectsWith(jc.request('workspace.join', { code: invite.link }), ['invite-used'], 'reused invite link')
      await assertJoinerOutside()
    } finally {
      await first.stop()
      third.remove()
    }
  })

  it('does not let a non-admin invite', async () => {
    // `other` joined as an editor above.
    await rejectsWith(other!.connect().request('workspace.invite', { workspaceId: ws }), ['forbidden'], 'editor invite')
    await rejectsWith(jc.request('workspace.invite', { workspaceId: ws }), ['not-found'], 'stranger invite')
  })

  it('rejects an invite whose inviter is offline as unreachable', async () => {
    const dir = tempDir()
    const gone = await startPeer(dir.path, { name: 'Gone' })
    try {
      const ws2 = (await gone.connect().request('workspace.create', { name: 'Elsewhere' })).id
      const invite = await gone.connect().request('workspace.invite', { workspaceId: ws2 })
      await gone.stop()
      const started = Date.now()
      await rejectsWith(jc.request('workspace.join', { code: invite.code }), ['unreachable'], 'offline inviter')
      assert.ok(Date.now() - started < 21_000)
      await assertJoinerOutside()
    } finally {
      await gone.stop()
      dir.remove()
    }
  })

  it('the owner still serves and invites after all of that', async () => {
    const invite = await oc.request('workspace.invite', { workspaceId: ws })
    const joined = await jc.request('workspace.join', { code: invite.code })
    assert.equal(joined.id, ws)
    assert.equal(joined.role, 'editor')
  })
})
