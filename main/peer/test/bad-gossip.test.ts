/**
 * Hostile gossip and catch-up: from a stranger's raw libp2p node and from members misbehaving.
 * Each case checks the rejection is counted by reason, the peer keeps serving, and the document and
 * membership are exactly as before.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from 'cborg'
import { GOSSIPSUB_MAX_INBOUND_BYTES, MAX_GOSSIP_MESSAGE_BYTES, MAX_REACH_LISTED } from '../../../shared/limits.ts'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import type { GrapevineNode } from '../net/node.ts'
import * as A from '@automerge/automerge'
import Database from 'better-sqlite3'
import { sealContent } from '../crypto/seal.ts'
import { signChange, signCover, signRun } from '../sync/change-validation.ts'
import { encodeCoverDeps } from '../sync/covers.ts'
import { originPayload } from '../sync/gossip.ts'
import { signPayload } from '../identity/keys.ts'
import { makeOp, OpGraph } from '../workspace/membership.ts'
import { verifyOp, type VerifiedOp } from '../workspace/ops.ts'
import { encodeMessage, PEER_PROTOCOL_VERSION, workspaceTopic, type SignedChange } from '../wire/peer-protocol.ts'
import type { Device } from '../identity/device.ts'
import { startPeer, tempDir, waitFor } from './helpers.ts'
import { storedChanges } from './sim/stored.ts'
import { catchupInject, changeOnTop, meshWith, startAttackerNode, throwawayDevice, rejectsWith, stopAll, type Dir } from './attacker.ts'

/** The heads of a workspace's membership ops as a peer's database holds them (read-only, while it runs). */
/** That none of `hashes` is in the peer's change log, and that it stores no cover (read from its file). */
function assertNotStored(peer: Peer, hashes: string[]): void {
  const stored = new Database(peer.dbPath, { readonly: true })
  try {
    for (const h of hashes)
      assert.equal(stored.prepare('SELECT 1 FROM changes WHERE hash = unhex(?)').get(h), undefined, `change ${h.slice(0, 8)} is not stored`)
    assert.equal((stored.prepare('SELECT count(*) AS n FROM covers').get() as { n: number }).n, 0, 'no cover is stored')
  } finally {
    stored.close()
  }
}

function membershipHeads(dbPath: string, ws: string): string[] {
  const db = new Database(dbPath, { readonly: true })
  try {
    const rows = db.prepare('SELECT author, signature, bytes FROM membership_ops WHERE workspace_id = ?').all(ws) as {
      author: string
      signature: Uint8Array
      bytes: Uint8Array
    }[]
    const graph = new OpGraph(ws)
    graph.add(
      rows.map((r) => verifyOp(ws, { a: r.author, s: r.signature, b: r.bytes })).filter((v): v is VerifiedOp => v !== null),
      true,
    )
    return graph.heads()
  } finally {
    db.close()
  }
}

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
    const editorInvite = await vc.request('workspace.invite', { workspaceId: ws, approve: false })
    await member.connect().request('workspace.join', { code: editorInvite.code })
    const viewerInvite = await vc.request('workspace.invite', { workspaceId: ws, approve: false, role: 'viewer' })
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
    assert.deepEqual(
      docs.map((d) => d.id),
      [docId],
    )
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
      assert.ok(
        res.recipients.some((p) => p.equals(V().node.peerId)),
        'the victim should be among the recipients',
      )
    }
    await waitFor(
      `the victim to reject ${payloads.length} message(s) as ${reason}`,
      () => rejected(reason) >= before + payloads.length,
      15_000,
    )
    assert.equal(rejected(reason), before + payloads.length)
    // Heads announcements from honest teammates may be accepted meanwhile; nothing else is.
    assert.ok(V().stats().gossip.accepted - accepted <= 2, 'no bad message may be accepted')
    await assertUnchanged()
  }

  /** A change on top of the victim's document, by `actor`, signed by `signer`, as one gossip/catch-up item. */
  const item = (signer: Device, actor = `${signer.actorPrefix}0123456789abcdef`, text = 'EVIL '): SignedChange =>
    signChange(signer, ws, docId, changeOnTop(docBytes, actor, text))
  const changesMessage = (items: SignedChange[], w = ws): Uint8Array =>
    encodeMessage({ t: 'changes', v: PEER_PROTOCOL_VERSION, ws: w, doc: docId, items })

  // Size and shape are checked only for members' messages: a stranger's payload is never decoded.
  it("rejects a member's oversized gossip message as too-large", async () => {
    const big = new Uint8Array(MAX_GOSSIP_MESSAGE_BYTES + 64 * 1024).fill(0xa5)
    assert.ok(big.byteLength < GOSSIPSUB_MAX_INBOUND_BYTES - 64 * 1024, 'gossipsub itself must let it through')
    await gossipRejected(R().node, 'too-large', [big])
  })

  it("rejects a member's truncated and garbage gossip messages as malformed", async () => {
    const valid = changesMessage([item(outsider!.device)])
    await gossipRejected(R().node, 'malformed', [
      valid.subarray(0, Math.floor(valid.byteLength / 2)), // truncated CBOR
      new TextEncoder().encode('this is not CBOR, just some text'), // garbage
      new Uint8Array([0xff, 0xff, 0xff, 0xff]), // invalid CBOR
      new Uint8Array(0), // empty
      encodeMessage({ t: 'changes', v: 2, ws, doc: docId, items: [] }), // CBOR of the wrong shape
      encodeMessage({ t: 'changes', v: PEER_PROTOCOL_VERSION, ws, doc: docId, items: [{ a: 'x', s: 1, c: 'y' }] }),
      encodeMessage(['changes', 1, ws]),
    ])
  })

  it("refuses a stranger's oversized or garbage gossip as not-member, before decoding any of it", async () => {
    const malformed = rejected('malformed')
    const tooLarge = rejected('too-large')
    // Each unlike anything sent before: gossip knows a message by its bytes (net/node.ts), and a copy of one
    // it has seen is dropped as such, unjudged.
    await gossipRejected(X(), 'not-member', [
      new Uint8Array(MAX_GOSSIP_MESSAGE_BYTES + 64 * 1024).fill(0xa6),
      new TextEncoder().encode("this is not CBOR either, a stranger's text"),
      new Uint8Array([0]),
    ])
    assert.equal(rejected('malformed'), malformed, 'nothing of it was decoded')
    assert.equal(rejected('too-large'), tooLarge, 'not even its size was judged')
  })

  it("rejects a validly signed change from a non-member's node as not-member", async () => {
    const msg = changesMessage([item(outsider!.device)])
    await gossipRejected(X(), 'not-member', [msg, encodeMessage({ t: 'heads', v: PEER_PROTOCOL_VERSION, ws, docs: [[docId, []]] })])
  })

  it("rejects a member's message carrying a non-member's signed change as not-member", async () => {
    await gossipRejected(M().node, 'not-member', [changesMessage([item(outsider!.device, undefined, 'ALSO EVIL ')])])
  })

  it("rejects heads and presence without their sender's signature, in another's name, or from a stranger", async () => {
    type Origin = { t: 'heads'; v: typeof PEER_PROTOCOL_VERSION; ws: string; docs: [string, string[]][]; o?: string; s?: Uint8Array }
    const heads = (o?: string): Origin => ({
      t: 'heads',
      v: PEER_PROTOCOL_VERSION,
      ws,
      docs: [[docId, baseline.heads]],
      ...(o ? { o } : {}),
    })
    const signedBy = <T extends Parameters<typeof originPayload>[0]>(d: Device, m: T): T => ({
      ...m,
      s: signPayload(d.signingKey, originPayload(m)),
    })
    const victimId = V().device.deviceId
    await gossipRejected(M().node, 'bad-signature', [
      encodeMessage(heads()), // names no sender: by gossip, nobody can tell whose heads these are
      encodeMessage(signedBy(M().device, heads(victimId))), // the member, in the victim's name
      encodeMessage({ ...heads(M().device.deviceId), s: new Uint8Array(64) }), // not a signature
      encodeMessage(
        signedBy(M().device, { t: 'presence', v: PEER_PROTOCOL_VERSION, ws, e: new Uint8Array(16), p: new Uint8Array(40), o: victimId }),
      ),
    ])
    // A stranger's own, signed: relayed by a member, still not a member's.
    await gossipRejected(M().node, 'not-member', [encodeMessage(signedBy(outsider!.device, heads(outsider!.device.deviceId)))])
    // The member's own, signed, is taken (of a document the victim does not have: the member's peer may already
    // have announced these very bytes for the real one, and a message is sent once).
    const accepted = V().stats().gossip.accepted
    const own: Origin = { ...heads(M().device.deviceId), docs: [['no-such-document', baseline.heads]] }
    await M().node.services.pubsub.publish(topic, encodeMessage(signedBy(M().device, own)))
    await waitFor('the signed heads to be accepted', () => V().stats().gossip.accepted > accepted)
  })

  it("rejects a reach report by gossip (only its sender's live stream may carry one) as live-only, and an oversized one as malformed", async () => {
    const reach = (to: string[]) => encodeMessage({ t: 'reach', v: PEER_PROTOCOL_VERSION, ws, to })
    const reports = V().stats().gossip.reachReports
    await gossipRejected(M().node, 'live-only', [reach([V().device.deviceId]), reach([])])
    const tooMany = Array.from({ length: MAX_REACH_LISTED + 1 }, () => M().device.deviceId)
    await gossipRejected(M().node, 'malformed', [reach(tooMany)])
    assert.equal(V().stats().gossip.reachReports, reports, 'none of them was taken as a report')
  })

  it("ignores a later version's messages by gossip (a type or version not known here): not taken, not passed on, nobody blamed", async () => {
    const newer = V().stats().gossip.newer
    const before = { ...V().stats().gossip.rejected }
    const accepted = V().stats().gossip.accepted
    const payloads = [
      encode({ t: 'receipts', v: PEER_PROTOCOL_VERSION, ws, docs: [[docId, 'read']] }),
      encode({ t: 'members', v: PEER_PROTOCOL_VERSION + 1, ws, ops: 'another shape' }),
    ]
    for (const data of payloads) {
      const res = await M().node.services.pubsub.publish(topic, data)
      assert.ok(
        res.recipients.some((p) => p.equals(V().node.peerId)),
        'the victim should be among the recipients',
      )
    }
    await waitFor('the victim to drop both', () => V().stats().gossip.newer >= newer + 2, 15_000)
    assert.deepEqual(V().stats().gossip.rejected, before, 'no rejection, no strike')
    assert.ok(V().stats().gossip.accepted - accepted <= 2, 'neither is accepted (heads from honest teammates may be)')
    await assertUnchanged()
  })

  it('rejects a message about another workspace on this topic as wrong-topic', async () => {
    await gossipRejected(M().node, 'wrong-topic', [changesMessage([item(M().device)], 'f'.repeat(32))])
  })

  it("rejects a change whose actor is not the signer's as foreign-actor", async () => {
    await gossipRejected(M().node, 'foreign-actor', [
      changesMessage([item(M().device, 'ab'.repeat(24))]),
      // The victim's own actor prefix, signed by the member: still not the member's.
      changesMessage([item(M().device, `${V().device.actorPrefix}abcdefabcdefabcd`)]),
      // The right prefix but not the right length.
      changesMessage([item(M().device, `${M().device.actorPrefix}ab`)]),
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

  it("rejects a member's runs that lie about what they hold, storing and applying none of it", async () => {
    const key = M().keys.current(ws)!
    const mine = `${M().device.actorPrefix}0123456789abcdef`
    const base = A.load<{ text: string }>(docBytes, { actor: mine })
    const base0 = A.getHeads(base)
    const one = A.change(base, (d) => A.splice(d, ['text'], 0, 0, 'R'))
    const oneBytes = A.save(one) // before `one` is built on
    const two = A.change(one, (d) => A.splice(d, ['text'], 1, 0, 'S'))
    const [h1, h2] = [A.getHeads(one)[0]!, A.getHeads(two)[0]!]
    // A change beside the first, by another of the member's actors: not a chain.
    const beside = A.merge(
      A.clone(two),
      A.change(A.load<{ text: string }>(docBytes, { actor: `${M().device.actorPrefix}fedcba9876543210` }), (d) =>
        A.splice(d, ['text'], 0, 0, 'T'),
      ),
    )
    const h3 = A.getHeads(beside).find((h) => h !== h2)!
    // Another's actor inside the run.
    const foreign = A.change(A.load<{ text: string }>(oneBytes, { actor: 'ab'.repeat(24) }), (d) => A.splice(d, ['text'], 0, 0, 'U'))
    const hf = A.getHeads(foreign)[0]!
    const hex = (h: string): Uint8Array => Buffer.from(h, 'hex')
    const run = (bundle: Uint8Array, fields: { h: string; d: string[]; n: number }): SignedChange =>
      signRun(M().device, ws, docId, {
        e: hex(key.epochId),
        h: hex(fields.h),
        d: fields.d.map(hex),
        m: membershipHeads(M().dbPath, ws).map(hex),
        c: sealContent(key, bundle, { kind: 'run', subject: docId, author: M().device.deviceId }),
        n: fields.n,
      })
    const honest = A.saveBundle(two, [h1, h2])
    const lies = [
      run(honest, { h: h2, d: base0, n: 3 }), // says 3 changes, holds 2
      run(honest, { h: h1, d: base0, n: 2 }), // says it ends where it does not
      run(honest, { h: h2, d: [], n: 2 }), // says its first change has no deps
      run(A.saveBundle(beside, [h1, h3]), { h: h3, d: base0, n: 2 }), // two changes side by side, not a chain
      run(new TextEncoder().encode('not an Automerge bundle'), { h: h2, d: base0, n: 2 }),
    ]
    await gossipRejected(
      M().node,
      'bad-change',
      lies.map((l) => changesMessage([l])),
    )
    await gossipRejected(M().node, 'foreign-actor', [changesMessage([run(A.saveBundle(foreign, [h1, hf]), { h: hf, d: base0, n: 2 })])])
    // An honest run's signature does not cover the same fields sent as one change (n dropped).
    const { n: _n, ...asOne } = run(honest, { h: h2, d: base0, n: 2 })
    await gossipRejected(M().node, 'bad-signature', [changesMessage([asOne])])
    assertNotStored(V(), [h1, h2, h3, hf])
  })

  it("rejects a member's covers that lie about what they hold, storing and applying none of it", async () => {
    const key = M().keys.current(ws)!
    const mine = `${M().device.actorPrefix}00112233445566ff`
    const base = A.load<{ text: string }>(docBytes, { actor: mine })
    const base0 = A.getHeads(base)
    const one = A.change(base, (d) => A.splice(d, ['text'], 0, 0, 'V'))
    const oneBytes = A.save(one)
    const two = A.change(one, (d) => A.splice(d, ['text'], 1, 0, 'W'))
    const three = A.change(two, (d) => A.splice(d, ['text'], 2, 0, 'X'))
    const [h1, h2, h3] = [A.getHeads(one)[0]!, A.getHeads(two)[0]!, A.getHeads(three)[0]!]
    // Another's actor's change on the first.
    const foreign = A.change(A.load<{ text: string }>(oneBytes, { actor: 'cd'.repeat(24) }), (d) => A.splice(d, ['text'], 0, 0, 'Y'))
    const hf = A.getHeads(foreign)[0]!
    const hex = (h: string): Uint8Array => Buffer.from(h, 'hex')
    const cover = (bundle: Uint8Array, changes: { hash: string; deps: string[] }[]): SignedChange => {
      const { kd, external } = encodeCoverDeps(changes)
      return signCover(M().device, ws, docId, {
        e: hex(key.epochId),
        h: hex(changes.at(-1)!.hash),
        d: external.map(hex),
        m: membershipHeads(M().dbPath, ws).map(hex),
        c: sealContent(key, bundle, { kind: 'cover', subject: docId, author: M().device.deviceId }),
        n: changes.length,
        k: Buffer.concat(changes.map((c) => hex(c.hash))),
        kd,
      })
    }
    const honest = [
      { hash: h1, deps: base0 },
      { hash: h2, deps: [h1] },
      { hash: h3, deps: [h2] },
    ]
    const bundle = A.saveBundle(three, [h1, h2, h3])
    const lies = [
      cover(
        bundle,
        [honest[0]!, honest[2]!, honest[1]!].map((c, i) => (i === 1 ? { ...c, deps: [h1] } : i === 2 ? { ...c, deps: [h1] } : c)),
      ), // another order
      cover(bundle, [honest[0]!, honest[1]!, { hash: h3, deps: [h1] }]), // a change with other deps than its own
      cover(A.saveBundle(two, [h1, h2]), honest), // says 3 changes, holds 2
      cover(new TextEncoder().encode('not an Automerge bundle'), honest),
    ]
    await gossipRejected(
      M().node,
      'bad-change',
      lies.map((l) => changesMessage([l])),
    )
    await gossipRejected(M().node, 'foreign-actor', [
      changesMessage([
        cover(A.saveBundle(A.merge(A.clone(one), foreign), [h1, hf]), [
          { hash: h1, deps: base0 },
          { hash: hf, deps: [h1] },
        ]),
      ]),
    ])
    // An honest cover's signature does not cover the same fields sent as a run (k and kd dropped).
    const { k: _k, kd: _kd, ...asRun } = cover(bundle, honest)
    await gossipRejected(M().node, 'bad-signature', [changesMessage([asRun])])
    assertNotStored(V(), [h1, h2, h3, hf])
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
    assert.ok(frames.some((f) => f.t === 'rc'))
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
    await M().node.services.pubsub.publish(topic, encodeMessage({ t: 'members', v: PEER_PROTOCOL_VERSION, ws, ops: [op] }))
    await waitFor('the victim to take the members message', () => V().stats().gossip.accepted > accepted, 15_000)
    const members = await vc.request('workspace.members', { workspaceId: ws })
    assert.ok(!members.some((m) => m.deviceId === X().peerId.toString()))
    // The stranger is still a stranger on the wire (a change unlike the one it sent before: a copy would be one message).
    await gossipRejected(X(), 'not-member', [changesMessage([item(outsider!.device, undefined, 'EVE IS IN ')])])
  })

  it('does not keep or pass on membership ops that a stranger signed', async () => {
    const junk = makeOp(outsider!.device, ws, { type: 'name', name: 'junk' }).op
    const frames = await catchupInject(X(), V().node.peerId, ws, docId, [], [junk])
    assert.equal(frames[0]?.t, 'refuse')
    // What the victim would hand a member who has no ops at all: every op it keeps for the workspace.
    const fromMember = await catchupInject(M().node, V().node.peerId, ws, docId, [])
    assert.ok(fromMember.some((f) => f.t === 'rc'))
    const authors = fromMember.flatMap((f) => (f.t === 'ops' ? f.ops.map((o) => o.a) : []))
    assert.ok(authors.length > 0, 'the victim handed over the ops it keeps')
    assert.ok(!authors.includes(outsider!.device.deviceId), 'an op signed by a stranger was stored and is being relayed to members')
  })

  it('costs a member who sent rejected messages gossipsub score', async () => {
    // The GossipSub interface does not expose scores; the implementation does.
    const scores = V().node.services.pubsub as unknown as { getScore(peerId: string): number }
    const score = (): number => scores.getScore(M().node.peerId.toString())
    const before = score()
    // Whatever ran before (or not), this test makes the member send a message the victim rejects.
    const garbage = new TextEncoder().encode('not an automerge change either')
    await gossipRejected(M().node, 'bad-change', [changesMessage([signChange(M().device, ws, docId, garbage)])])
    // A strike costs 100 and halves each minute; the score is cached for a second.
    await waitFor(`the member's score to drop from ${before}`, () => score() <= before - 50, 5_000)
    assert.ok(score() < 0, 'the member should be penalised')
  })

  it("a viewer's client cannot write either", async () => {
    const rc = R().connect()
    await rejectsWith(rc.request('doc.setText', { docId, text: 'viewer was here' }), ['forbidden'], 'viewer setText')
    const change = changeOnTop(docBytes, `${R().device.actorPrefix}0123456789abcdef`)
    await rejectsWith(rc.request('doc.applyChanges', { docId, changes: [change] }), ['forbidden'], 'viewer applyChanges')
    await rejectsWith(rc.request('doc.create', { workspaceId: ws, title: 'x' }), ['forbidden'], 'viewer create')
    await rejectsWith(rc.request('workspace.invite', { workspaceId: ws }), ['forbidden'], 'viewer invite')
    await assertUnchanged()
  })

  it("a member's change that decodes but does not apply is left out: the document stays as it was, readable, and the change leaves the log", async () => {
    // A keystroke whose insertion point is an element nobody made: it decodes, is signed by a member, and panics inside Automerge's apply.
    const decoded = A.decodeChange(changeOnTop(docBytes, `${M().device.actorPrefix}00000000000000aa`, 'P'))
    ;(decoded.ops[0] as unknown as { elemId: string }).elemId = `99@${'ab'.repeat(16)}`
    const bad = A.encodeChange(decoded)
    const accepted = V().stats().gossip.accepted
    await M().node.services.pubsub.publish(topic, changesMessage([signChange(M().device, ws, docId, bad)]))
    // Validation cannot tell (it has no document): the change is taken, and left out when it is applied.
    await waitFor('the victim to take the change', () => V().stats().gossip.accepted > accepted)
    await assertUnchanged()
    const hash = A.decodeChange(bad).hash
    await waitFor('the change removed from the log', () => !storedChanges(V().dbPath).some((c) => c.docId === docId && c.hash === hash))
    // Sent again (in a message of its own, or beside an honest change): rejected at validation, so not
    // passed on, and the sender loses score; the honest change beside it is lost with the message.
    const honest = changeOnTop(docBytes, `${M().device.actorPrefix}00000000000000ab`, 'Q')
    await gossipRejected(M().node, 'bad-change', [
      changesMessage([signChange(M().device, ws, docId, bad), signChange(M().device, ws, docId, bad)]),
      changesMessage([signChange(M().device, ws, docId, honest), signChange(M().device, ws, docId, bad)]),
    ])
  })

  it('still takes honest changes from members afterwards', async () => {
    const mc = M().connect()
    await mc.request('doc.setText', { docId, text: 'hello honest world' })
    await waitFor(
      'the honest edit to reach the victim',
      async () => (await vc.request('doc.read', { docId })).text === 'hello honest world',
    )
    const mine = await mc.request('doc.read', { docId })
    const theirs = await vc.request('doc.read', { docId })
    assert.deepEqual(theirs.heads, mine.heads)
  })

  it("a stranger subscribed to the workspace's topic receives none of its gossip", async () => {
    // X is subscribed and connected to the victim (meshWith); members' edits are published and forwarded.
    let received = 0
    const onMessage = (e: CustomEvent<{ topic: string }>): void => {
      if (e.detail.topic === topic) received++
    }
    X().services.pubsub.addEventListener('message', onMessage as never)
    try {
      const mc = M().connect()
      for (const text of ['a stranger must not read this', 'nor this']) {
        await mc.request('doc.setText', { docId, text })
        await waitFor('the edit to reach the victim', async () => (await vc.request('doc.read', { docId })).text === text)
      }
      await vc.request('doc.setText', { docId, text: 'nor what the victim writes' })
      await waitFor(
        'the edit to reach the member',
        async () => (await mc.request('doc.read', { docId })).text === 'nor what the victim writes',
      )
      assert.equal(received, 0, 'the stranger received workspace gossip')
    } finally {
      X().services.pubsub.removeEventListener('message', onMessage as never)
    }
  })
})
