/**
 * Workspace traffic goes only to that workspace's members, also on a peer that is in several
 * workspaces: a member of workspace A who asks a peer in A and B for B's gossip (SUBSCRIBE, GRAFT,
 * IWANT for a message id the peer holds) or B's catch-up gets no message of B. And the topic gate
 * itself, on two bare gossipsub nodes: a peer that stops being entitled leaves the topic's
 * subscribers, mesh and fanout at once, and is let back in when it is entitled again.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import type { Peer } from '../peer.ts'
import { createNode, type GossipSub, type GrapevineNode } from '../net/node.ts'
import { installTopicGate, type TopicGate } from '../net/topic-gate.ts'
import { LIVE_PROTOCOL, workspaceTopic } from '../wire/peer-protocol.ts'
import { startPeer, tempDir, waitFor } from './helpers.ts'
import { catchupInject, stopAll, type Dir } from './attacker.ts'

/** Gossipsub internals a test may poke at on the attacker's own node (it is the attacker's code, not ours). */
interface RawGossip {
  handleReceivedRpc(from: PeerId, rpc: RawRpc): Promise<void>
  sendRpc(id: string, rpc: RawRpc): boolean
  getMeshPeers(topic: string): string[]
  publish(topic: string, data: Uint8Array, opts?: { floodPublish?: boolean }): Promise<unknown>
}
interface RawRpc {
  subscriptions: { topic?: string; subscribe?: boolean }[]
  messages: { topic: string }[]
  control?: {
    ihave?: { topicID?: string }[]
    iwant?: { messageIDs: Uint8Array[] }[]
    graft?: { topicID: string }[]
    prune?: []
    idontwant?: []
  }
}
const raw = (pubsub: GossipSub): RawGossip => pubsub as unknown as RawGossip

/** Waits for `check` like waitFor, but a timeout is not the failure: the assertions after it say what went wrong. */
const awhile = (what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<unknown> =>
  waitFor(what, check, ms).catch(() => null)

/** Counts every message and IHAVE per topic that reaches `node` on the wire, before any de-duplication. */
function tapWire(node: GrapevineNode): { messages: Map<string, number>; ihave: Map<string, number> } {
  const seen = { messages: new Map<string, number>(), ihave: new Map<string, number>() }
  const g = raw(node.services.pubsub)
  const original = g.handleReceivedRpc.bind(g)
  g.handleReceivedRpc = (from, rpc) => {
    for (const m of rpc.messages) seen.messages.set(m.topic, (seen.messages.get(m.topic) ?? 0) + 1)
    for (const h of rpc.control?.ihave ?? []) if (h.topicID) seen.ihave.set(h.topicID, (seen.ihave.get(h.topicID) ?? 0) + 1)
    return original(from, rpc)
  }
  return seen
}

const iwant = (ids: Uint8Array[]): RawRpc => ({
  subscriptions: [],
  messages: [],
  control: { iwant: [{ messageIDs: ids }], ihave: [], graft: [], prune: [], idontwant: [] },
})
const graft = (topic: string): RawRpc => ({
  subscriptions: [],
  messages: [],
  control: { graft: [{ topicID: topic }], ihave: [], iwant: [], prune: [], idontwant: [] },
})

describe('a member of one workspace asks a peer in two for the other one', () => {
  const dirs: Dir[] = []
  const peers: (Peer | undefined)[] = []
  let attacker: GrapevineNode | undefined

  after(async () => {
    await attacker?.stop()
    await stopAll(peers, dirs)
  })

  it('gets no message of B: not by SUBSCRIBE, GRAFT or IWANT for a message id the peer holds, nor by catch-up', async () => {
    for (let i = 0; i < 4; i++) dirs.push(tempDir())
    // Hub is in A and B; Mallory only in A; Nora and Otto only in B. Otto's peer does not speak the live protocol
    // (an older version), so that B's messages go on B's topic too, where Mallory would ask for them.
    const hub = await startPeer(dirs[0]!.path, { name: 'Hub' })
    peers.push(hub)
    const hc = hub.connect()
    const wsA = (await hc.request('workspace.create', { name: 'A' })).id
    const wsB = (await hc.request('workspace.create', { name: 'B' })).id
    const docA = (await hc.request('doc.create', { workspaceId: wsA, title: 'A plan', text: 'for A' })).id
    const docB = (await hc.request('doc.create', { workspaceId: wsB, title: 'B secret', text: 'for B only' })).id
    const mallory = await startPeer(dirs[1]!.path, { name: 'Mallory' })
    peers.push(mallory)
    await mallory
      .connect()
      .request('workspace.join', { code: (await hc.request('workspace.invite', { workspaceId: wsA, approve: false })).code })
    const nora = await startPeer(dirs[2]!.path, { name: 'Nora' })
    peers.push(nora)
    const nc = nora.connect()
    await nc.request('workspace.join', { code: (await hc.request('workspace.invite', { workspaceId: wsB, approve: false })).code })
    await waitFor('B to reach Nora', async () => (await nc.request('doc.list', { workspaceId: wsB })).length === 1)
    const otto = await startPeer(dirs[3]!.path, { name: 'Otto' })
    peers.push(otto)
    await otto.node.unhandle(LIVE_PROTOCOL)
    const oc = otto.connect()
    await oc.request('workspace.join', { code: (await hc.request('workspace.invite', { workspaceId: wsB, approve: false })).code })
    await waitFor('B to reach Otto', async () => (await oc.request('doc.list', { workspaceId: wsB })).length === 1)

    // Mallory's device runs a modified client: a bare gossipsub node with her key, which asks for anything.
    const key = mallory.device.privateKey
    await mallory.stop()
    peers[1] = undefined
    const m = await createNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, appScore: () => 0 })
    attacker = m
    const wire = tapWire(m)
    const [topicA, topicB] = [workspaceTopic(wsA), workspaceTopic(wsB)]
    const hubId = hub.node.peerId
    const gate = (): TopicGate['stats'] => hub.stats().gate
    const withheld = gate().withheld
    await m.dial(hub.node.getMultiaddrs())
    m.services.pubsub.subscribe(topicA)
    m.services.pubsub.subscribe(topicB)
    await waitFor('Mallory to see the hub in B', () => m.services.pubsub.getSubscribers(topicB).some((p) => p.equals(hubId)), 15_000)
    await waitFor(
      'the hub to take her subscription to A',
      () => hub.node.services.pubsub.getSubscribers(topicA).some((p) => p.equals(m.peerId)),
      15_000,
    )
    await awhile('the hub to hold back her subscription to B', () => gate().withheld > withheld, 5_000)
    // GRAFT without a subscription (gossipsub does not check one).
    const grafts = gate().refused.graft
    raw(m.services.pubsub).sendRpc(hubId.toString(), graft(topicB))
    await awhile('the hub to refuse her GRAFT for B', () => gate().refused.graft > grafts, 5_000)

    // B's traffic, both ways through the hub; every id the hub sees is asked for by IWANT at once (its cache holds it ~5 s).
    const ids: Uint8Array[] = []
    const iwants = gate().refused.iwant
    const onMessage = (e: CustomEvent<{ msgId: string; msg: { topic: string } }>): void => {
      if (e.detail.msg.topic !== topicB) return
      const id = Buffer.from(e.detail.msgId, 'base64')
      ids.push(id)
      raw(m.services.pubsub).sendRpc(hubId.toString(), iwant([id]))
    }
    hub.node.services.pubsub.addEventListener('gossipsub:message', onMessage as never)
    try {
      for (const text of ['B: first secret', 'B: second secret']) {
        await nc.request('doc.setText', { docId: docB, text })
        await waitFor("Nora's edit to reach the hub", async () => (await hc.request('doc.read', { docId: docB })).text === text, 10_000)
      }
      await hc.request('doc.setText', { docId: docB, text: "B: the hub's secret" })
      await waitFor(
        "the hub's edit to reach Nora",
        async () => (await nc.request('doc.read', { docId: docB })).text === "B: the hub's secret",
        10_000,
      )
      await awhile('the hub to refuse her IWANT for B', () => gate().refused.iwant >= iwants + ids.length, 5_000)
      // A's traffic does reach her: she is connected, subscribed and a member there.
      await hc.request('doc.setText', { docId: docA, text: 'A: for everyone in A' })
      await waitFor("A's gossip to reach her", () => (wire.messages.get(topicA) ?? 0) > 0, 10_000)
      // A heartbeat or two, for anything gossip would send later (IHAVE, a mesh repair).
      await new Promise((r) => setTimeout(r, 2_500))
    } finally {
      hub.node.services.pubsub.removeEventListener('gossipsub:message', onMessage as never)
    }
    console.log(
      `Mallory got ${wire.messages.get(topicA) ?? 0} message(s) of A and ${wire.messages.get(topicB) ?? 0} of B; ` +
        `the hub refused ${gate().refused.graft - grafts} GRAFT and ${gate().refused.iwant - iwants} IWANT for ${ids.length} id(s) of B`,
    )
    assert.equal(wire.messages.get(topicB) ?? 0, 0, 'a message of B reached a member of A only')
    assert.equal(wire.ihave.get(topicB) ?? 0, 0, 'message ids of B were announced to her')
    assert.ok(!hub.node.services.pubsub.getSubscribers(topicB).some((p) => p.equals(m.peerId)), 'B lists her as a subscriber')
    assert.ok(!raw(hub.node.services.pubsub).getMeshPeers(topicB).includes(m.peerId.toString()), "she is in B's mesh")
    // Not vacuous: she did ask, in each way, and the hub held B's messages she asked for.
    assert.ok(ids.length > 0, 'the hub saw no message of B to ask for')
    assert.ok(
      gate().withheld > withheld && gate().refused.graft > grafts && gate().refused.iwant >= iwants + ids.length,
      'an ask was not refused',
    )

    // Catch-up: B is refused before anything is read; A is served (the same connection, the same member).
    const frames = await catchupInject(m, hubId, wsB, docB, [])
    assert.deepEqual(
      frames.map((f) => f.t),
      ['refuse'],
    )
    const fromA = await catchupInject(m, hubId, wsA, docA, [])
    assert.ok(fromA.some((f) => f.t === 'rc'))
  })
})

describe('the topic gate on bare gossipsub nodes', () => {
  const nodes: GrapevineNode[] = []
  after(async () => {
    await Promise.allSettled(nodes.map((n) => n.stop()))
  })

  it('a peer no longer entitled leaves subscribers, mesh and fanout at once; entitled again, it is back', async () => {
    const T = '/test/gated/1'
    const F = '/test/fanout/1' // the gated node publishes here without subscribing: its peers are in the fanout
    const allowed = new Set<string>()
    let gate: TopicGate | undefined
    const p = await createNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      appScore: () => 0,
      beforeStart: (n) => {
        gate = installTopicGate(n.services.pubsub, { entitled: (peer, topic) => (topic === T || topic === F) && allowed.has(peer) })
      },
    })
    nodes.push(p)
    const q = await createNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      appScore: () => 0,
    })
    nodes.push(q)
    const qid = q.peerId.toString()
    allowed.add(qid)
    const received = new Map<string, string[]>()
    q.services.pubsub.addEventListener('message', (e) => {
      const text = new TextDecoder().decode(e.detail.data)
      received.set(e.detail.topic, [...(received.get(e.detail.topic) ?? []), text])
    })
    p.services.pubsub.subscribe(T)
    q.services.pubsub.subscribe(T)
    q.services.pubsub.subscribe(F)
    await q.dial(p.getMultiaddrs())
    const subscribed = (t: string): boolean => p.services.pubsub.getSubscribers(t).some((x) => x.equals(q.peerId))
    await waitFor(
      'q subscribed and in the mesh on p',
      () => subscribed(T) && subscribed(F) && raw(p.services.pubsub).getMeshPeers(T).includes(qid),
      15_000,
    )
    const got = (t: string, text: string): boolean => received.get(t)?.includes(text) ?? false
    // Publishing to F without flooding goes through the fanout (flood publish, our default, skips it).
    const say = (t: string, text: string): Promise<unknown> =>
      raw(p.services.pubsub).publish(t, new TextEncoder().encode(text), t === F ? { floodPublish: false } : undefined)
    await say(T, 'entitled 1')
    await say(F, 'entitled 1')
    await waitFor('q to receive while entitled', () => got(T, 'entitled 1') && got(F, 'entitled 1'), 10_000)
    const fanout = (p.services.pubsub as unknown as { fanout: Map<string, Set<string>> }).fanout
    assert.ok(fanout.get(F)?.has(qid), 'q is in the fanout of F')

    allowed.delete(qid)
    gate!.refresh()
    assert.ok(!subscribed(T) && !subscribed(F), 'q is still a subscriber')
    assert.ok(!raw(p.services.pubsub).getMeshPeers(T).includes(qid), 'q is still in the mesh')
    assert.ok(!fanout.get(F)?.has(qid), 'q is still in the fanout')
    await say(T, 'revoked 1')
    await say(F, 'revoked 1')
    // q tries its way back in: a GRAFT, and an IWANT for what p just sent.
    const refused = { ...gate!.stats.refused }
    raw(q.services.pubsub).sendRpc(p.peerId.toString(), graft(T))
    await awhile('p to refuse the GRAFT', () => gate!.stats.refused.graft > refused.graft, 5_000)
    await new Promise((r) => setTimeout(r, 2_500)) // heartbeats: no mesh repair brings q back
    assert.ok(!raw(p.services.pubsub).getMeshPeers(T).includes(qid), 'a heartbeat or GRAFT put q back in the mesh')
    assert.deepEqual([got(T, 'revoked 1'), got(F, 'revoked 1')], [false, false], 'q received after it was no longer entitled')
    assert.ok(gate!.stats.refused.graft > refused.graft, 'the GRAFT was not refused')

    allowed.add(qid)
    gate!.refresh()
    await waitFor('q back among the subscribers', () => subscribed(T) && subscribed(F), 5_000)
    await say(T, 'entitled 2')
    await waitFor('q to receive again', () => got(T, 'entitled 2'), 10_000)
  })

  it('fails loudly, naming what is missing, when gossipsub is not the version it was written for', () => {
    const changed = { handleReceivedRpc: () => {}, mcache: {}, topics: new Map(), mesh: new Map(), fanout: {}, peers: new Map() }
    assert.throws(
      () => installTopicGate(changed as unknown as GossipSub, { entitled: () => true }),
      (err: Error) =>
        /gossipsub's internals changed/.test(err.message) &&
        /mcache\.getWithIWantCount/.test(err.message) &&
        /fanout/.test(err.message) &&
        /pinned/.test(err.message),
    )
  })
})
