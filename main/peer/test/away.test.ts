/**
 * A member away (sync/reach.ts): while a teammate is offline, messages go to the connected members by the
 * live path only, not on the topic as well; the member gets what it missed by catch-up when it is back,
 * and live messages again from then on.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as Automerge from '@automerge/automerge'
import type { Peer } from '../peer.ts'
import { workspaceTopic } from '../wire/peer-protocol.ts'
import { formWorkspace, recordPublishes, startPeer, tempDir, waitFor } from './helpers.ts'
import { openReplica } from './replica.ts'
import { stopAll, type Dir } from './attacker.ts'

describe('a member away', () => {
  const dirs: Dir[] = []
  let alice: Peer | undefined
  let bob: Peer | undefined
  let dan: Peer | undefined
  let ws = ''
  let docId = ''
  const A = () => alice!
  const B = () => bob!
  // Each profile's own port, so that a restarted peer is found where it was.
  const start = (i: number, name: string): Promise<Peer> => startPeer(dirs[i]!.path, { name, port: undefined })
  const text = async (p: Peer): Promise<string> => (await p.connect().request('doc.read', { docId })).text

  before(async () => {
    for (let i = 0; i < 3; i++) dirs.push(tempDir())
    alice = await start(0, 'Alice')
    bob = await start(1, 'Bob')
    dan = await start(2, 'Dan')
    ws = await formWorkspace(alice, [bob, dan])
    docId = (await A().connect().request('doc.create', { workspaceId: ws, title: 'Notes', text: 'start' })).id
    for (const p of [bob, dan]) await waitFor('the document on every teammate', async () => (await text(p!)) === 'start')
  })

  after(() => stopAll([alice, bob, dan], dirs))

  it('leaves the topic alone while a member is away, and the member catches up when it is back', async () => {
    const danId = dan!.device.deviceId
    await dan!.stop()
    dan = undefined
    await waitFor('alice and bob to notice that dan is gone', () =>
      [A(), B()].every((p) => p.node.getConnections().every((c) => c.remotePeer.toString() !== danId)),
    )
    // Bob tells alice whom he reaches once his connections change; until that report is here, alice's edits go on
    // the topic too (dan might be reachable through bob). Edit until one is left out: within seconds, not at the
    // next periodic report (20 s).
    const replica = await openReplica(A().connect(), docId)
    const leftOut = A().stats().gossip.awayLeftOut
    await waitFor(
      'an edit left out of the topic because dan is away',
      async () => {
        await replica.edit((d) => Automerge.splice(d, ['text'], String(d.text).length, 0, '.'))
        return A().stats().gossip.awayLeftOut > leftOut
      },
      5_000,
    )
    const { topics, restore } = recordPublishes(A())
    try {
      const { awayLeftOut } = A().stats().gossip
      const bobReplica = await openReplica(B().connect(), docId)
      for (const ch of ' one two') await replica.edit((d) => Automerge.splice(d, ['text'], String(d.text).length, 0, ch))
      await bobReplica.until((d) => String(d.text).endsWith(' one two'))
      assert.ok(A().stats().gossip.awayLeftOut >= awayLeftOut + 3, 'each of them left out of the topic')
      assert.deepEqual(
        topics.filter((t) => t === workspaceTopic(ws)),
        [],
        'nothing published on the topic while the only other member is away',
      )
      bobReplica.close()
    } finally {
      restore()
    }
    // Dan comes back: catch-up brings what he missed, and then the live path carries the next edit at once.
    const missed = await text(A())
    dan = await start(2, 'Dan')
    await waitFor('what dan missed, by catch-up', async () => (await text(dan!)) === missed, 30_000)
    const received = dan.stats().live.received
    await replica.edit((d) => Automerge.splice(d, ['text'], String(d.text).length, 0, ' three'))
    await waitFor('the next edit on dan', async () => (await text(dan!)) === `${missed} three`, 15_000)
    assert.ok(dan.stats().live.received > received, 'by the live path')
    replica.close()
  })
})
