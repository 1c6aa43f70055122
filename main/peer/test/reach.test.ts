/**
 * Reaching teammates without the inviter (net/address-book.ts), on one plain network with mDNS off:
 * members hand each other their signed address records, so joiners who only ever dialled the inviter
 * find each other, and keep working together when it stops. And every kind of bad address frame a
 * member or a stranger can send is refused, with nothing stored.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lpStream } from '@libp2p/utils'
import type { Peer } from '../peer.ts'
import { formWorkspace, startPeer, tempDir, waitFor, stopAndRemoveAfter } from './helpers.ts'
import { startAttackerNode } from './attacker.ts'
import { ADDRS_PROTOCOL, ADDRS_VERSION, MAX_ADDRS_FRAME_BYTES, addressRecordPayload, encodeMessage } from '../wire/peer-protocol.ts'
import { signPayload } from '../identity/keys.ts'

const { dirs, running } = stopAndRemoveAfter()
const dirOf = new Map<Peer, string>()

async function start(name: string): Promise<Peer> {
  const dir = tempDir()
  dirs.push(dir)
  const p = await startPeer(dir.path, { name })
  running.push(p)
  dirOf.set(p, dir.path)
  return p
}

const connected = (a: Peer, b: Peer): boolean =>
  a.node.getConnections().some((c) => c.status === 'open' && c.remotePeer.equals(b.node.peerId))

test('joiners who only dialled the inviter reach each other, and an edit crosses between them within a second once it stops', async () => {
  const [ana, ben, cleo] = [await start('ana'), await start('ben'), await start('cleo')]
  const ws = await formWorkspace(ana, [ben, cleo])
  // Nobody gave ben or cleo the other's address: only ana's records can have brought them together.
  await waitFor('ben and cleo connected to each other', () => connected(ben, cleo) && connected(cleo, ben), 15_000)
  const listed = await ben.connect().request('peer.list', {})
  assert.ok(listed.find((p) => p.peerId === cleo.device.deviceId)?.online, 'ben lists cleo as online')
  await waitFor('ben lists an address cleo listens on', async () => {
    const info = (await ben.connect().request('peer.list', {})).find((p) => p.peerId === cleo.device.deviceId)
    return info?.addresses.some((a) => cleo.node.getMultiaddrs().some((m) => m.toString().startsWith(a)))
  })

  const docId = (await ben.connect().request('doc.create', { workspaceId: ws, title: 'Plan', text: 'one\n' })).id
  await waitFor('the document at cleo', async () => (await cleo.connect().request('doc.read', { docId })).text === 'one\n')
  await ana.stop()
  running.splice(running.indexOf(ana), 1)

  const started = performance.now()
  await ben.connect().request('doc.setText', { docId, text: 'one\ntwo\n' })
  await waitFor('the edit at cleo', async () => (await cleo.connect().request('doc.read', { docId })).text === 'one\ntwo\n', 5_000, 5)
  const ms = performance.now() - started
  console.log(`# edit ben → cleo with the inviter stopped: ${ms.toFixed(1)} ms`)
  assert.ok(ms < 1_000, `the edit took ${ms.toFixed(0)} ms`)

  // Remembered across restarts: cleo comes back on a new port with the inviter still gone, and finds ben
  // where he told her he is.
  const cleoDir = dirOf.get(cleo)!
  await cleo.stop()
  running.splice(running.indexOf(cleo), 1)
  const again = await startPeer(cleoDir, {})
  running.push(again)
  await waitFor('cleo, restarted, connected to ben again', () => connected(again, ben), 15_000)
  await ben.connect().request('doc.setText', { docId, text: 'one\ntwo\nthree\n' })
  await waitFor('the next edit at cleo', async () => (await again.connect().request('doc.read', { docId })).text === 'one\ntwo\nthree\n')
})

test('addresses stay among the members of the workspaces their device is in', async () => {
  const [owner, inA, inB] = [await start('owner'), await start('in-a'), await start('in-b')]
  await formWorkspace(owner, [inA], 'A')
  await formWorkspace(owner, [inB], 'B')
  await waitFor('owner holds both records', () => owner.stats().addresses.accepted >= 2, 15_000)
  // Give the owner time to pass on anything it (wrongly) would.
  await new Promise((r) => setTimeout(r, 1_000))
  const known = (p: Peer, other: Peer) =>
    (p.connect().request('peer.list', {}) as Promise<{ peerId: string; addresses: string[] }[]>).then(
      (l) => l.find((i) => i.peerId === other.device.deviceId)?.addresses ?? [],
    )
  assert.deepEqual(await known(inA, inB), [], 'a member of A alone does not learn where a member of B alone is')
  assert.deepEqual(await known(inB, inA), [])
  assert.equal(connected(inA, inB), false)
})

test("bad address frames are refused and change nothing: a forged record, another device's older record, oversize, malformed, a stranger's", async () => {
  const [ana, ben, cleo] = [await start('ana'), await start('ben'), await start('cleo')]
  await formWorkspace(ana, [ben, cleo])
  await waitFor('ana holds cleo’s record', () => ana.stats().addresses.accepted >= 2, 15_000)
  const cleoAddrs = (await ana.connect().request('peer.list', {})).find((p) => p.peerId === cleo.device.deviceId)!.addresses
  const send = async (from: Peer | Awaited<ReturnType<typeof startAttackerNode>>, bytes: Uint8Array): Promise<void> => {
    const node = 'node' in from ? from.node : from
    const stream = await node.dialProtocol(ana.node.getMultiaddrs(), ADDRS_PROTOCOL)
    try {
      await lpStream(stream, { maxDataLength: MAX_ADDRS_FRAME_BYTES * 2 }).write(bytes)
      await stream.close()
    } catch {
      // Ana may end the stream first: what counts is what she kept.
    }
  }
  const before = ana.stats().addresses
  // Ben says cleo moved to his own port, signing it himself.
  const forged = { d: cleo.device.deviceId, q: 1_000_000, a: ['/ip4/127.0.0.1/tcp/1'] }
  await send(
    ben,
    encodeMessage({ v: ADDRS_VERSION, r: [{ ...forged, s: signPayload(ben.device.signingKey, addressRecordPayload(forged)) }] }),
  )
  await waitFor('the forged record refused', () => ana.stats().addresses.refused === before.refused + 1, 5_000)
  // Over the size cap, not CBOR, the wrong shape.
  await send(ben, new Uint8Array(MAX_ADDRS_FRAME_BYTES + 1))
  await send(ben, new Uint8Array([0xff, 0x00, 0x13]))
  await send(ben, encodeMessage({ v: ADDRS_VERSION, r: [{ d: cleo.device.deviceId, q: -1, a: 'x', s: new Uint8Array(3) }] }))
  // Ben's own record, signed by him, but older than the one ana holds: kept out quietly.
  const stale = { d: ben.device.deviceId, q: 1, a: ['/ip4/127.0.0.1/tcp/3'] }
  await send(
    ben,
    encodeMessage({ v: ADDRS_VERSION, r: [{ ...stale, s: signPayload(ben.device.signingKey, addressRecordPayload(stale)) }] }),
  )
  // A stranger, with a record it signed for itself: its stream is ended before anything is read.
  const stranger = await startAttackerNode()
  try {
    const own = { d: stranger.peerId.toString(), q: 1, a: ['/ip4/127.0.0.1/tcp/2'] }
    await send(stranger, encodeMessage({ v: ADDRS_VERSION, r: [{ ...own, s: new Uint8Array(64) }] }))
  } finally {
    await stranger.stop()
  }
  await new Promise((r) => setTimeout(r, 300))
  const afterStats = ana.stats().addresses
  assert.equal(afterStats.accepted, before.accepted, 'no record was taken')
  assert.equal(afterStats.badFrames, before.badFrames + 4, 'oversize, not CBOR, wrong shape and the stranger’s refused whole')
  assert.equal(afterStats.refused, before.refused + 1, 'the forged record refused')
  const list = await ana.connect().request('peer.list', {})
  assert.equal(
    list.find((p) => p.peerId === ben.device.deviceId)!.addresses.includes('/ip4/127.0.0.1/tcp/3'),
    false,
    'the stale record ignored',
  )
  assert.deepEqual(list.find((p) => p.peerId === cleo.device.deviceId)!.addresses, cleoAddrs, 'cleo’s addresses unchanged')
  assert.equal(
    list.some((p) => p.peerId === stranger.peerId.toString() && p.addresses.length > 0),
    false,
    'nothing of the stranger kept',
  )
})
