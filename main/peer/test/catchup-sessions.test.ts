/**
 * Catch-up 2 between two real peers (sync/catchup.ts): equal workspaces cost one short frame each
 * way; one session runs per pair of peers and workspace, whoever dials; the side that knows less
 * sends nothing the other already has (behind, ahead, diverged), in two round trips; a peer of the
 * older version is told why, either way.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { lpStream } from '@libp2p/utils'
import type { Log } from '../log.ts'
import type { Peer } from '../peer.ts'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { DocContent } from '../../../shared/doc-content.ts'
import { MAX_STREAM_FRAME_BYTES } from '../../../shared/limits.ts'
import {
  CATCHUP_1_PROTOCOL,
  CATCHUP_PROTOCOL,
  catchupFrame,
  decodeMessage,
  encodeMessage,
  PEER_PROTOCOL_VERSION,
} from '../wire/peer-protocol.ts'
import { packId } from '../sync/reconcile.ts'
import { formWorkspace, startPeer, tempDir, testLog, waitFor } from './helpers.ts'
import { stopAll, type Dir } from './attacker.ts'

/** More than are listed in one answer (64): reconciliation splits them into ranges. */
const DOCS = 150
type Stats = ReturnType<Peer['stats']>['catchup']
/**
 * Round trips of the session that moved the changes. The lower id dials on connect; should it be so
 * slow to start that the higher id dials too (1.5 s later), that second session finds the workspace
 * equal: one round trip, counted in `equal` by both sides.
 */
const movingRoundTrips = (a: Stats, b: Stats): number => a.roundTrips + b.roundTrips - (a.equal + b.equal) / 2
const delta = (now: Stats, then: Stats): Stats =>
  Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (then[k as keyof Stats] ?? 0)])) as unknown as Stats

/** `n` one-character changes typed into `docId` through `client`, sent as a client does, many per request. */
async function typeKeys(client: PeerClient, docId: string, n: number, char = 'x'): Promise<void> {
  const opened = await client.request('doc.open', { docId })
  let doc = A.load<DocContent>(opened.bytes, { actor: opened.actor })
  let batch: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    doc = A.change(doc, (d) => A.splice(d, ['text'], 0, 0, char))
    batch.push(A.getLastLocalChange(doc)!)
    if (batch.length === 500 || i === n - 1) {
      await client.request('doc.applyChanges', { docId, changes: batch })
      batch = []
    }
  }
  await client.request('doc.close', { docId })
}

describe('catch-up 2 between two peers', () => {
  const dirs: Dir[] = [tempDir(), tempDir()]
  const lines: string[] = []
  const log: Log = (level, message) => {
    lines.push(`${level} ${message}`)
    testLog(level, message)
  }
  /** The peer whose id sorts first (it starts catch-up on connect), and the other. */
  let lo: Peer
  let hi: Peer
  let loDir = ''
  let hiDir = ''
  let ws = ''
  let docId = ''
  // The profile's own port each time, so that a restarted peer is found where it was.
  const start = (dir: string): Promise<Peer> => startPeer(dir, { port: undefined, log, catchupIntervalMs: 600_000 })
  const failures = (from: number): string[] => lines.slice(from).filter((l) => /failed|refused/.test(l))

  const heads = async (p: Peer, id = docId): Promise<string> => (await p.connect().request('doc.read', { docId: id })).heads.join()
  /** Until both hold the same heads, and every session has ended (the higher id's start 1.5 s after connecting too). */
  const converged = async (): Promise<void> => {
    await waitFor('the same heads on both peers', async () => (await heads(lo)) === (await heads(hi)), 30_000)
    await new Promise((r) => setTimeout(r, 2_500))
    await Promise.all([lo.settle(), hi.settle()])
  }
  const connected = (): Promise<unknown> =>
    waitFor(
      'the peers connected',
      () => lo.node.getConnections(hi.node.peerId).length > 0 && hi.node.getConnections(lo.node.peerId).length > 0,
    )

  before(async () => {
    const a = await start(dirs[0]!.path)
    const b = await start(dirs[1]!.path)
    ws = await formWorkspace(a, [b])
    ;[lo, hi] = a.device.deviceId < b.device.deviceId ? [a, b] : [b, a]
    ;[loDir, hiDir] = lo === a ? [dirs[0]!.path, dirs[1]!.path] : [dirs[1]!.path, dirs[0]!.path]
    docId = (await lo.connect().request('doc.create', { workspaceId: ws, title: 'Trace', text: '' })).id
    // A shared history first: what the side that is behind must not send back.
    await typeKeys(lo.connect(), docId, 200, 's')
    await waitFor('every document on both', async () => (await hi.connect().request('doc.list', { workspaceId: ws })).length === 1, 30_000)
    await converged()
  })

  /** Asserts that a session between equal workspaces is one frame of at most 64 bytes each way, one round trip. */
  const assertEqualSession = async (): Promise<void> => {
    // Whatever gossip left to do, a session ends equal.
    await waitFor('an equal session', async () => {
      const before = lo.stats().catchup.equal
      await lo.syncNow()
      return lo.stats().catchup.equal > before
    })
    const [l0, h0] = [{ ...lo.stats().catchup }, { ...hi.stats().catchup }]
    await lo.syncNow()
    const [l, h] = [delta(lo.stats().catchup, l0), delta(hi.stats().catchup, h0)]
    const n = (await lo.connect().request('doc.list', { workspaceId: ws })).length
    console.log(`equal workspace of ${n} documents: dialer sent ${l.bytesSent} bytes, responder ${h.bytesSent}`)
    assert.deepEqual([l.framesSent, h.framesSent], [1, 1], 'one frame each way')
    assert.ok(l.bytesSent <= 64 && h.bytesSent <= 64, `${l.bytesSent} and ${h.bytesSent} bytes`)
    assert.equal(l.roundTrips, 1)
    assert.deepEqual([l.changesSent, h.changesSent, h.sessions, h.equal], [0, 0, 1, 1])
  }

  after(async () => stopAll([lo, hi], dirs))

  it('equal workspaces cost one frame of at most 64 bytes each way, in one round trip', async () => {
    // The frames as encoded, for this workspace id.
    const hiFrame = encodeMessage({ t: 'hi', v: PEER_PROTOCOL_VERSION, w: packId(ws), d: new Uint8Array(32) })
    assert.ok(hiFrame.byteLength <= 64, `the summary is ${hiFrame.byteLength} bytes`)
    assert.ok(encodeMessage({ t: 'eq' }).byteLength <= 64)
    await assertEqualSession()
  })

  it('both peers dialling at once run one session: the other is refused as busy, quietly, and waits for it', async () => {
    const from = lines.length
    const [l0, h0] = [{ ...lo.stats().catchup }, { ...hi.stats().catchup }]
    // In one tick: each side's lock is taken before either summary leaves.
    const both = [lo.syncNow(), hi.syncNow().then(() => delta(hi.stats().catchup, h0))]
    const [, hiWhenDone] = await Promise.all(both)
    const [l, h] = [delta(lo.stats().catchup, l0), delta(hi.stats().catchup, h0)]
    // The lower id's session wins; the higher id answers it once its own was refused, and its call waits for that.
    assert.deepEqual([l.sessions, h.sessions], [0, 1], 'one session answered, by the higher id')
    assert.equal(hiWhenDone?.framesSent, 2, "the higher id's call ended after it had answered (its summary, then `eq`)")
    assert.deepEqual(failures(from), [], 'a busy refusal is not logged as a failure')
  })

  it('on reconnect one session runs, not one from each side', async () => {
    const l0 = { ...lo.stats().catchup }
    await hi.stop()
    await typeKeys(lo.connect(), docId, 50)
    hi = await start(hiDir)
    await connected()
    await converged()
    const [l, h] = [delta(lo.stats().catchup, l0), hi.stats().catchup]
    assert.equal(l.sessions + h.sessions, 1, `${l.sessions} + ${h.sessions} sessions answered`)
  })

  it('the dialer behind: the other side sends exactly what it lacks, it sends nothing, in two round trips', async () => {
    const h0 = { ...hi.stats().catchup }
    await lo.stop()
    await typeKeys(hi.connect(), docId, 300)
    lo = await start(loDir)
    await connected()
    await converged()
    const [l, h] = [lo.stats().catchup, delta(hi.stats().catchup, h0)]
    console.log(`behind dialer: ${l.bytesSent} + ${h.bytesSent} bytes, ${l.roundTrips} round trips`)
    assert.equal(l.changesSent, 0, 'the side that knows less sent no change')
    assert.equal(h.changesSent, 300)
    assert.equal(l.changesReceived, 300)
    assert.equal(movingRoundTrips(l, h), 2)
  })

  it('the dialer ahead: it sends exactly what the other side lacks, which sends nothing, in two round trips', async () => {
    const l0 = { ...lo.stats().catchup }
    await hi.stop()
    await typeKeys(lo.connect(), docId, 300)
    hi = await start(hiDir)
    await connected()
    await converged()
    const [l, h] = [delta(lo.stats().catchup, l0), hi.stats().catchup]
    assert.equal(h.changesSent, 0, 'the side that knows less sent no change')
    assert.equal(l.changesSent, 300)
    assert.equal(h.changesReceived, 300)
    assert.equal(movingRoundTrips(l, h), 2)
  })

  it('diverged: each side sends exactly what the other lacks', async () => {
    await hi.stop()
    await typeKeys(lo.connect(), docId, 120, 'l')
    await lo.stop()
    hi = await start(hiDir)
    await typeKeys(hi.connect(), docId, 70, 'h')
    const h0 = { ...hi.stats().catchup }
    lo = await start(loDir)
    await connected()
    await converged()
    const [l, h] = [lo.stats().catchup, delta(hi.stats().catchup, h0)]
    console.log(`diverged: ${l.bytesSent} + ${h.bytesSent} bytes, ${l.roundTrips + h.roundTrips} round trips`)
    assert.deepEqual([l.changesSent, h.changesSent], [120, 70])
    assert.deepEqual([l.changesReceived, h.changesReceived], [70, 120])
    const text = (await lo.connect().request('doc.read', { docId })).text
    assert.equal([...text].filter((c) => c === 'l').length, 120)
    assert.equal([...text].filter((c) => c === 'h').length, 70)
  })

  it('a few changed documents among many: what crosses follows them, not the number of documents', async () => {
    for (let i = 0; i < DOCS - 1; i++) await lo.connect().request('doc.create', { workspaceId: ws, title: `Doc ${i}`, text: `text ${i}` })
    await waitFor(
      'every document on both',
      async () => (await hi.connect().request('doc.list', { workspaceId: ws })).length === DOCS,
      30_000,
    )
    // Equal again, with many documents: still one short frame each way.
    await assertEqualSession()
    const docs = (await lo.connect().request('doc.list', { workspaceId: ws })).map((d) => d.id).filter((d) => d !== docId)
    const l0 = { ...lo.stats().catchup }
    await hi.stop()
    for (const d of docs.slice(0, 2)) await typeKeys(lo.connect(), d, 5)
    hi = await start(hiDir)
    await connected()
    for (const d of docs.slice(0, 2))
      await waitFor('the change at the other side', async () => (await heads(lo, d)) === (await heads(hi, d)))
    await converged()
    const [l, h] = [delta(lo.stats().catchup, l0), hi.stats().catchup]
    const bytes = l.bytesSent + h.bytesSent
    console.log(`2 of ${DOCS} documents changed: ${bytes} bytes, ${l.changesSent} changes`)
    assert.equal(l.changesSent + h.changesSent, 10)
    // 10 changes are about 3.5 KiB; listing the documents with their heads would be another 8 KiB.
    assert.ok(bytes < 10 * 400 + 2_500, `${bytes} bytes`)
  })

  it('a peer of the older version is told why; a dial to one says it speaks catch-up 1 only', async () => {
    // An older peer dials catch-up 1 with its summary: the answer is a refusal that says why.
    const stream = await hi.node.dialProtocol(lo.node.peerId, CATCHUP_1_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: MAX_STREAM_FRAME_BYTES })
    await lp.write(encodeMessage({ t: 'summary', v: 3, ws, ops: [], docs: [] }))
    const answer = decodeMessage(catchupFrame, (await lp.read()).subarray(), MAX_STREAM_FRAME_BYTES, 'catch-up frame')
    assert.equal(answer.t, 'refuse')
    assert.match(answer.t === 'refuse' ? answer.reason : '', /speaks catch-up 2 .* only: update Grapevine/)
    stream.abort(new Error('done'))
    // This peer dials one that speaks catch-up 1 only.
    const from = lines.length
    await hi.node.unhandle(CATCHUP_PROTOCOL)
    try {
      await lo.syncNow()
      const failed = failures(from).filter((l) => l.includes(`catch-up of ${ws} with ${hi.device.deviceId} failed`))
      console.log(failed.join('\n'))
      assert.equal(failed.length, 1)
      assert.match(failed[0]!, /while opening a stream: the peer does not speak \/grapevine\/catchup\/2\.0\.0: it runs an older version/)
    } finally {
      // A new peer in the same profile speaks catch-up 2 again.
      await hi.stop()
      hi = await start(hiDir)
      await connected()
    }
  })
})
