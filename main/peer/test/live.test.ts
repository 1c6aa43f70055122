/**
 * The live path (sync/live.ts): edits go straight to connected teammates over a stream of their own,
 * gossip's copy is known as a duplicate, a peer without the protocol still gets everything by gossip,
 * and a stream is refused to strangers and ended on bad frames, with the document unchanged.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from 'cborg'
import * as Automerge from '@automerge/automerge'
import type { Stream } from '@libp2p/interface'
import { MAX_GOSSIP_MESSAGE_BYTES } from '../../../shared/limits.ts'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { Peer } from '../peer.ts'
import type { GrapevineNode } from '../net/node.ts'
import { signChange } from '../sync/change-validation.ts'
import { originPayload } from '../sync/gossip.ts'
import { signPayload } from '../identity/keys.ts'
import { FrameReader, framed } from '../sync/live.ts'
import { encodeMessage, LIVE_PROTOCOL, PEER_PROTOCOL_VERSION, workspaceTopic } from '../wire/peer-protocol.ts'
import type { Device } from '../identity/device.ts'
import { formWorkspace, recordPublishes, startPeer, tempDir, waitFor } from './helpers.ts'
import { changeOnTop, startAttackerNode, stopAll, throwawayDevice, type Dir } from './attacker.ts'
import { openReplica } from './replica.ts'
import { seededRandom } from './random.ts'

describe('live frames', () => {
  it('splits a byte stream into the frames written, however it is cut', () => {
    const rnd = seededRandom('live frames')
    for (let trial = 0; trial < 50; trial++) {
      const sent = Array.from({ length: rnd.between(1, 20) }, () => Uint8Array.from({ length: rnd.between(0, 300) }, () => rnd.int(256)))
      const bytes = Buffer.concat(sent.map(framed))
      const reader = new FrameReader(1000)
      const got: Uint8Array[] = []
      for (let at = 0; at < bytes.byteLength; ) {
        const n = rnd.between(1, 64)
        got.push(...reader.push(bytes.subarray(at, at + n)))
        at += n
      }
      assert.deepEqual(
        got.map((g) => Buffer.from(g).toString('hex')),
        sent.map((s) => Buffer.from(s).toString('hex')),
      )
    }
  })

  it('refuses a frame longer than its limit as soon as the length is read', () => {
    const reader = new FrameReader(100)
    const header = new Uint8Array(4)
    new DataView(header.buffer).setUint32(0, 101)
    assert.throws(() => reader.push(header), /101 bytes, over the 100-byte limit/)
  })
})

describe('the live path between teammates', () => {
  const dirs: Dir[] = []
  let alice: Peer | undefined
  let bob: Peer | undefined
  let cat: Peer | undefined // a teammate whose peer does not speak the live protocol (an older version)
  let stranger: GrapevineNode | undefined
  let outsider: { device: Device; close(): void } | undefined
  let ac: PeerClient
  let ws: string
  let docId: string
  const A = () => alice!
  const B = () => bob!

  before(async () => {
    for (let i = 0; i < 3; i++) dirs.push(tempDir())
    alice = await startPeer(dirs[0]!.path, { name: 'Alice' })
    bob = await startPeer(dirs[1]!.path, { name: 'Bob' })
    cat = await startPeer(dirs[2]!.path, { name: 'Cat' })
    await cat.node.unhandle(LIVE_PROTOCOL)
    ws = await formWorkspace(alice, [bob, cat])
    ac = alice.connect()
    docId = (await ac.request('doc.create', { workspaceId: ws, title: 'Notes', text: 'start' })).id
    for (const p of [bob, cat]) {
      const c = p.connect()
      await waitFor('the document on every teammate', async () => (await c.request('doc.read', { docId })).text === 'start')
    }
    stranger = await startAttackerNode()
    outsider = await throwawayDevice()
  })

  after(async () => {
    await Promise.allSettled([stranger?.stop()])
    outsider?.close()
    await stopAll([alice, bob, cat], dirs)
  })

  // Cat is in this workspace and has no live path: alice's messages are published on its topic as well.
  it('carries an edit to a connected teammate, and gossip brings the same message as a duplicate', async () => {
    const before = { sent: A().stats().live.sent, received: B().stats().live.received, dup: B().stats().gossip.duplicates }
    const replica = await openReplica(ac, docId)
    const bobReplica = await openReplica(B().connect(), docId)
    for (const ch of ' one two three') await replica.edit((d) => Automerge.splice(d, ['text'], String(d.text).length, 0, ch))
    await bobReplica.until((d) => d.text === 'start one two three')
    assert.ok(A().stats().live.sent > before.sent, 'alice sent by the live path')
    assert.ok(B().stats().live.received > before.received, 'bob received by the live path')
    await waitFor('gossip copies to be known as duplicates', () => B().stats().gossip.duplicates > before.dup, 10_000)
    await B().settle()
    const read = await B().connect().request('doc.read', { docId })
    assert.equal(read.text, 'start one two three')
    // Every change once in bob's log, however many copies came.
    assert.equal(read.heads.length, 1)
    replica.close()
    bobReplica.close()
  })

  it('reaches a teammate without the live protocol by gossip alone', async () => {
    const c = cat!.connect()
    const replica = await openReplica(ac, docId)
    await replica.edit((d) => Automerge.splice(d, ['text'], String(d.text).length, 0, ' for cat'))
    await waitFor('the edit on cat', async () => (await c.request('doc.read', { docId })).text.endsWith('for cat'), 10_000)
    assert.equal(cat!.stats().live.received, 0, 'nothing came to cat by the live path')
    replica.close()
  })

  it('publishes nothing on the topic when every member got the message by the live path: one copy each, no forwards', async () => {
    // A second workspace, of alice and bob only: both speak the live protocol.
    const pair = await formWorkspace(A(), [B()], 'Pair')
    const pairDoc = (await ac.request('doc.create', { workspaceId: pair, title: 'Pair notes', text: 'pair' })).id
    const bc = B().connect()
    await waitFor('the document on bob', async () => (await bc.request('doc.read', { docId: pairDoc }).catch(() => null))?.text === 'pair')
    const { topics, restore } = recordPublishes(A())
    try {
      const { liveOnly } = A().stats().gossip
      const replica = await openReplica(ac, pairDoc)
      const bobReplica = await openReplica(bc, pairDoc)
      for (const ch of ' one two') await replica.edit((d) => Automerge.splice(d, ['text'], String(d.text).length, 0, ch))
      await bobReplica.until((d) => d.text === 'pair one two')
      // Bob's heads announcements back to alice go the same way; wait past their debounce.
      await new Promise((r) => setTimeout(r, 700))
      assert.ok(A().stats().gossip.liveOnly > liveOnly, 'alice sent them by the live path only')
      assert.deepEqual(
        topics.filter((t) => t === workspaceTopic(pair)),
        [],
        "nothing of the pair's published on its topic",
      )
      // The workspace with cat in it still goes by gossip too (the test above, and this one's control).
      const withCat = await openReplica(ac, docId)
      await withCat.edit((d) => Automerge.splice(d, ['text'], String(d.text).length, 0, '.'))
      await waitFor('alice to publish on the topic cat reads', () => topics.includes(workspaceTopic(ws)), 10_000)
      withCat.close()
      replica.close()
      bobReplica.close()
    } finally {
      restore()
    }
  })

  it("refuses a stranger's live stream without reading it", async () => {
    const { refused } = A().stats().live
    // Teammates' live messages may arrive meanwhile: had the stranger's been read, it would count as a
    // message for a workspace the two do not share.
    const notShared = A().stats().gossip.notShared
    await stranger!.dial(A().node.getMultiaddrs())
    const stream = await stranger!.dialProtocol(A().node.peerId, LIVE_PROTOCOL)
    try {
      stream.send(framed(encodeMessage({ t: 'heads', v: PEER_PROTOCOL_VERSION, ws, docs: [] })))
    } catch {
      // Ended before the first byte could go: that is the point.
    }
    await waitFor('the stream to end', () => stream.status !== 'open', 10_000)
    assert.equal(A().stats().live.refused, refused + 1)
    assert.equal(A().stats().gossip.notShared, notShared, 'nothing of it was read')
  })

  /** Opens a live stream from bob to alice (bob is a member: the stream is taken), sends `bytes`, waits until alice ends it. */
  async function sendRaw(bytes: Uint8Array): Promise<Stream> {
    const conn = B()
      .node.getConnections(A().node.peerId)
      .find((c) => c.status === 'open')!
    const stream = await conn.newStream(LIVE_PROTOCOL)
    stream.send(bytes)
    await waitFor('alice to end the stream', () => stream.status !== 'open' || stream.readStatus !== 'readable', 10_000)
    return stream
  }

  async function assertUnchanged(text: string): Promise<void> {
    await A().settle()
    assert.equal((await ac.request('doc.read', { docId })).text, text)
  }

  it("ends a member's stream on a frame over the size limit, a malformed message, or a stranger's change", async () => {
    const text = (await ac.request('doc.read', { docId })).text
    const docBytes = (await ac.request('doc.open', { docId })).bytes
    await ac.request('doc.close', { docId })
    const tooLong = new Uint8Array(8)
    new DataView(tooLong.buffer).setUint32(0, MAX_GOSSIP_MESSAGE_BYTES + 1)
    const forged = signChange(outsider!.device, ws, docId, changeOnTop(docBytes, `${outsider!.device.actorPrefix}0123456789abcdef`))
    const cases: [string, Uint8Array, string | null][] = [
      ['over the size limit', tooLong, null],
      ['not CBOR', framed(new TextEncoder().encode('not a message')), 'malformed'],
      [
        'a change signed by a stranger',
        framed(encodeMessage({ t: 'changes', v: PEER_PROTOCOL_VERSION, ws, doc: docId, items: [forged] })),
        'not-member',
      ],
    ]
    for (const [what, bytes, reason] of cases) {
      const refused = A().stats().live.refused
      const rejected = reason ? (A().stats().gossip.rejected[reason] ?? 0) : 0
      await sendRaw(bytes)
      await waitFor(`alice to count the refusal (${what})`, () => A().stats().live.refused === refused + 1, 10_000)
      if (reason) assert.equal(A().stats().gossip.rejected[reason], rejected + 1, `${what}: rejected as ${reason}`)
      await assertUnchanged(text)
    }
  })

  it('drops a message for a workspace the sender and this peer do not share, blaming nobody (a membership op may be on its way)', async () => {
    const text = (await ac.request('doc.read', { docId })).text
    const { notShared, rejected } = { notShared: A().stats().gossip.notShared, rejected: { ...A().stats().gossip.rejected } }
    const conn = B()
      .node.getConnections(A().node.peerId)
      .find((c) => c.status === 'open')!
    const stream = await conn.newStream(LIVE_PROTOCOL)
    const docs: [string, string[]][] = [[docId, []]]
    stream.send(framed(encodeMessage({ t: 'heads', v: PEER_PROTOCOL_VERSION, ws: 'w'.repeat(26), docs })))
    await waitFor('alice to drop it', () => A().stats().gossip.notShared === notShared + 1, 10_000)
    assert.deepEqual(A().stats().gossip.rejected, rejected, 'no rejection, no strike')
    assert.equal(stream.status, 'open', 'the stream stays open')
    await stream.close()
    await assertUnchanged(text)
  })

  it("drops a later version's messages without ending the stream or blaming their sender, and reads on", async () => {
    const text = (await ac.request('doc.read', { docId })).text
    const { newer } = A().stats().gossip
    const { refused } = A().stats().live
    const rejected = { ...A().stats().gossip.rejected }
    const conn = B()
      .node.getConnections(A().node.peerId)
      .find((c) => c.status === 'open')!
    const stream = await conn.newStream(LIVE_PROTOCOL)
    // A message type this version does not know, and a known type of a later version in another shape.
    stream.send(framed(encode({ t: 'receipts', v: PEER_PROTOCOL_VERSION, ws, docs: [[docId, 'read']] })))
    stream.send(framed(encode({ t: 'heads', v: PEER_PROTOCOL_VERSION + 1, ws, docs: { [docId]: 'elsewhere' } })))
    await waitFor('alice to drop both', () => A().stats().gossip.newer === newer + 2, 10_000)
    assert.deepEqual(A().stats().gossip.rejected, rejected, 'no rejection, no strike')
    assert.equal(stream.status, 'open', 'the stream stays open')
    // Alice still reads the stream: a malformed message after them is refused, and ends it.
    stream.send(framed(encode({ t: 'heads', v: PEER_PROTOCOL_VERSION, ws, docs: 'not a list' })))
    await waitFor('alice to refuse the malformed one', () => A().stats().live.refused === refused + 1, 10_000)
    assert.equal(A().stats().gossip.rejected['malformed'], (rejected['malformed'] ?? 0) + 1)
    await assertUnchanged(text)
  })

  it("takes a member's heads on its stream's word, refuses them in another's name, and checks the same bytes by gossip", async () => {
    const heads = (await ac.request('doc.read', { docId })).heads
    const headsBy = (o: string, s: Uint8Array) => encodeMessage({ t: 'heads', v: PEER_PROTOCOL_VERSION, ws, docs: [[docId, heads]], o, s })
    // In Cat's name, signed by Bob: refused, and the stream ends.
    const inCats: Parameters<typeof originPayload>[0] = {
      t: 'heads',
      v: PEER_PROTOCOL_VERSION,
      ws,
      docs: [[docId, heads]],
      o: cat!.device.deviceId,
    }
    const refused = A().stats().live.refused
    const badSignature = A().stats().gossip.rejected['bad-signature'] ?? 0
    await sendRaw(framed(encodeMessage({ ...inCats, s: signPayload(B().device.signingKey, originPayload(inCats)) })))
    await waitFor('alice to refuse heads in another name', () => A().stats().live.refused === refused + 1, 10_000)
    assert.equal(A().stats().gossip.rejected['bad-signature'], badSignature + 1)
    // Bob's own, with a signature that is not one: the stream says who sent them, so they are taken.
    const bytes = headsBy(B().device.deviceId, new Uint8Array(64))
    const accepted = A().stats().gossip.accepted
    const conn = B()
      .node.getConnections(A().node.peerId)
      .find((c) => c.status === 'open')!
    const stream = await conn.newStream(LIVE_PROTOCOL)
    stream.send(framed(bytes))
    // Other messages may be taken meanwhile (teammates' own heads): the count goes up by at least this one,
    // and nothing was refused on its account.
    await waitFor('alice to take them', () => A().stats().gossip.accepted > accepted || A().stats().live.refused > refused + 1, 10_000)
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(A().stats().live.refused, refused + 1, 'nothing more refused on the live path')
    assert.equal(A().stats().gossip.rejected['bad-signature'], badSignature + 1, 'the missing signature was not checked')
    assert.equal(stream.status, 'open', 'the stream stays open')
    await stream.close()
    // The same bytes by gossip: nobody vouches for the sender there, and the signature is checked.
    await B().node.services.pubsub.publish(workspaceTopic(ws), bytes)
    await waitFor('alice to refuse them by gossip', () => (A().stats().gossip.rejected['bad-signature'] ?? 0) === badSignature + 2, 10_000)
  })

  it('still carries honest edits live afterwards', async () => {
    const received = A().stats().live.received
    const replica = await openReplica(B().connect(), docId)
    await replica.edit((d) => Automerge.splice(d, ['text'], String(d.text).length, 0, '!'))
    await waitFor('the edit on alice', async () => (await ac.request('doc.read', { docId })).text.endsWith('!'), 10_000)
    // Gossip's copy may come first (the text shows it): the live one follows.
    await waitFor('the edit by the live path too', () => A().stats().live.received > received || null, 10_000)
    replica.close()
  })
})
