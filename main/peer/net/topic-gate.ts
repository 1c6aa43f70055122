/**
 * Per-topic entitlement for gossipsub: a peer's SUBSCRIBE, GRAFT and IHAVE for a topic count only if
 * `entitled(peer, topic)` (for a workspace's topic: the peer is one of its members), and IWANT for a
 * topic's messages is answered only to entitled peers. When a peer stops being entitled it is taken
 * out of the topic's subscribers, mesh and fanout here; when it becomes entitled, the subscriptions
 * it sent before are replayed, so a new member is reached at once.
 *
 * Why this reaches into gossipsub: version 17 has no per-topic recipient control. Direct peers and
 * the peer score are global, so a teammate of one workspace (score 0, direct) that subscribes to,
 * GRAFTs or IWANTs another workspace's topic on a peer both share would receive its messages
 * (/work/shared/STACK-NOTES.md, "Gossipsub 17 and per-workspace delivery"). This is the only module
 * that relies on gossipsub's non-exported internals; `installTopicGate` checks each one exists and is
 * still called the way it is wrapped, and throws at start-up if not, so an upgrade fails loudly
 * instead of silently letting non-members in. The gossipsub version is pinned exactly in package.json.
 */
import type { PeerId } from '@libp2p/interface'
import type { Workspaces } from '../workspace/workspaces.ts'
import { workspaceTopic } from '../wire/peer-protocol.ts'
import type { GossipSub } from './node.ts'

interface RpcSubscription {
  subscribe?: boolean
  topic?: string
}
interface RpcControl {
  ihave?: { topicID?: string; messageIDs?: Uint8Array[] }[]
  iwant?: unknown[]
  graft?: { topicID?: string }[]
  prune?: unknown[]
  idontwant?: unknown[]
}
interface Rpc {
  subscriptions?: RpcSubscription[]
  messages?: { topic: string }[]
  control?: RpcControl
}

/** The parts of gossipsub 17's GossipSub instance this module uses (none are in its typings). */
interface Internals {
  handleReceivedRpc(from: PeerId, rpc: Rpc): Promise<void>
  handleReceivedSubscription(from: PeerId, topic: string, subscribe: boolean): boolean
  mcache: { getWithIWantCount(msgIdStr: string, peer: string): { msg: { topic: string }; count: number } | null }
  topics: Map<string, Set<string>>
  mesh: Map<string, Set<string>>
  fanout: Map<string, Set<string>>
  peers: Map<string, PeerId>
  subscriptions: Set<string>
  score: { scoreCache: Map<string, unknown> }
}

/**
 * What a non-entitled peer tried: its SUBSCRIBE is held back (normal before a membership op arrives),
 * the rest refused; `message` is a message on a topic this peer is not subscribed to (nobody's business here).
 */
export type GateRefusal = 'graft' | 'ihave' | 'iwant' | 'message'

export interface TopicGateOptions {
  entitled(peerId: string, topic: string): boolean
  /** A GRAFT, IHAVE or IWANT of a non-entitled peer was dropped (count it; do not log a line each). */
  onRefused?(kind: GateRefusal, peerId: string, topic: string): void
  /** Held-back subscriptions kept per peer, and peers tracked, before the oldest are forgotten. */
  maxWithheldTopicsPerPeer?: number
  maxWithheldPeers?: number
}

export interface TopicGate {
  /** Re-checks every subscriber, mesh and fanout peer, and every held-back subscription; call when membership changes. */
  refresh(): void
  /** Forgets a disconnected peer's held-back subscriptions. */
  forget(peerId: string): void
  readonly stats: { withheld: number; refused: Record<GateRefusal, number>; removed: number; admitted: number }
}

const isMap = (v: unknown): v is Map<unknown, unknown> => v instanceof Map
const isFn = (v: unknown): v is (...args: never[]) => unknown => typeof v === 'function'

/** Throws naming every internal that is missing or no longer called the way it is wrapped. */
function checkInternals(pubsub: object): Internals {
  const p = pubsub as Partial<Record<keyof Internals, unknown>> & {
    mcache?: { getWithIWantCount?: unknown }
    score?: { scoreCache?: unknown }
  }
  const proto = Object.getPrototypeOf(pubsub) as Record<string, unknown>
  const source = (name: string): string => (isFn(proto[name]) ? Function.prototype.toString.call(proto[name]) : '')
  const problems: string[] = []
  if (!isFn(p.handleReceivedRpc)) problems.push('handleReceivedRpc()')
  // The read loop must look the handler up on the instance, or wrapping it changes nothing.
  else if (!source('pipePeerReadStream').includes('this.handleReceivedRpc('))
    problems.push('pipePeerReadStream() calling this.handleReceivedRpc()')
  if (!isFn(p.handleReceivedSubscription)) problems.push('handleReceivedSubscription()')
  if (!isFn(p.mcache?.getWithIWantCount)) problems.push('mcache.getWithIWantCount()')
  else if (!source('handleIWant').includes('this.mcache.getWithIWantCount('))
    problems.push('handleIWant() calling this.mcache.getWithIWantCount()')
  for (const name of ['topics', 'mesh', 'fanout', 'peers'] as const) if (!isMap(p[name])) problems.push(`${name} (a Map)`)
  if (!(p.subscriptions instanceof Set)) problems.push('subscriptions (a Set)')
  if (!isMap(p.score?.scoreCache)) problems.push('score.scoreCache (a Map)')
  if (problems.length > 0) {
    throw new Error(
      `gossipsub's internals changed (missing: ${problems.join(', ')}); workspace traffic could reach non-members. ` +
        'Keep @libp2p/gossipsub at the version pinned in package.json, or update main/peer/net/topic-gate.ts and its tests.',
    )
  }
  return pubsub as unknown as Internals
}

/** Installs the gate on a gossipsub instance before it starts (throws if gossipsub's internals changed). */
export function installTopicGate(pubsub: GossipSub, opts: TopicGateOptions): TopicGate {
  const gs = checkInternals(pubsub)
  const maxTopics = opts.maxWithheldTopicsPerPeer ?? 16
  const maxPeers = opts.maxWithheldPeers ?? 1024
  const stats: TopicGate['stats'] = { withheld: 0, refused: { graft: 0, ihave: 0, iwant: 0, message: 0 }, removed: 0, admitted: 0 }
  /** Subscriptions held back from peers not (yet) entitled, replayed when they are: peer → (peer id, topics). */
  const withheld = new Map<string, { peer: PeerId; topics: Set<string> }>()
  const refuse = (kind: GateRefusal, id: string, topic: string): void => {
    stats.refused[kind]++
    opts.onRefused?.(kind, id, topic)
  }
  const allowed = (kind: GateRefusal, id: string, topic: string | undefined): boolean => {
    if (topic == null || opts.entitled(id, topic)) return true
    refuse(kind, id, topic)
    return false
  }
  const withhold = (peer: PeerId, id: string, topic: string): void => {
    let w = withheld.get(id)
    if (!w) {
      // Bounded: a flood of peers (each its own PeerId) forgets the oldest; gossipsub caps topics per peer too.
      if (withheld.size >= maxPeers) withheld.delete(withheld.keys().next().value!)
      w = { peer, topics: new Set() }
      withheld.set(id, w)
    }
    if (w.topics.has(topic) || w.topics.size >= maxTopics) return
    w.topics.add(topic)
    stats.withheld++
  }
  const unwithhold = (id: string, topic: string): void => {
    const w = withheld.get(id)
    if (!w) return
    w.topics.delete(topic)
    if (w.topics.size === 0) withheld.delete(id)
  }

  const original = gs.handleReceivedRpc.bind(gs)
  gs.handleReceivedRpc = (from: PeerId, rpc: Rpc): Promise<void> => {
    const id = from.toString()
    const subscriptions = (rpc.subscriptions ?? []).filter((s) => {
      if (s.topic == null) return true
      if (s.subscribe !== true) {
        unwithhold(id, s.topic)
        return true
      }
      if (opts.entitled(id, s.topic)) return true
      withhold(from, id, s.topic)
      return false
    })
    const c = rpc.control
    let control = c
    if (c) {
      // GRAFT would put the peer in the topic's mesh (gossipsub does not check its subscription); IHAVE
      // would make us ask it for messages of a topic it has no business in.
      const graft = (c.graft ?? []).filter((g) => allowed('graft', id, g.topicID))
      const ihave = (c.ihave ?? []).filter((h) => allowed('ihave', id, h.topicID))
      control = { ...c, graft, ihave }
    }
    // Gossipsub would cache and pass on messages of any topic (there is no validator for a topic we do not
    // hold): a stranger could fill the message cache with junk topics. We take part only in our own.
    const messages = (rpc.messages ?? []).filter((m) => {
      if (gs.subscriptions.has(m.topic)) return true
      refuse('message', id, m.topic)
      return false
    })
    return original(from, { ...rpc, subscriptions, control, messages })
  }

  const mcache = gs.mcache
  const getWithIWantCount = mcache.getWithIWantCount.bind(mcache)
  // IWANT names message ids (StrictSign ids are guessable); answer only for topics the asker is entitled to.
  mcache.getWithIWantCount = (msgIdStr: string, peer: string) => {
    const entry = getWithIWantCount(msgIdStr, peer)
    if (entry && !opts.entitled(peer, entry.msg.topic)) {
      refuse('iwant', peer, entry.msg.topic)
      return null
    }
    return entry
  }

  return {
    stats,
    forget(peerId) {
      withheld.delete(peerId)
    },
    refresh() {
      // Scores were cached for up to a heartbeat with the old membership (a new teammate's -1000);
      // a stale one would keep it out of the mesh and below the publish threshold for a second.
      gs.score.scoreCache.clear()
      for (const [topic, subscribers] of gs.topics) {
        for (const id of [...subscribers]) {
          if (opts.entitled(id, topic)) continue
          const peer = gs.peers.get(id)
          if (peer) gs.handleReceivedSubscription(peer, topic, false)
          else subscribers.delete(id)
          gs.mesh.get(topic)?.delete(id)
          gs.fanout.get(topic)?.delete(id)
          stats.removed++
          // The peer still believes it is subscribed; should it be entitled again, this is replayed.
          if (peer) withhold(peer, id, topic)
        }
      }
      for (const [topic, peers] of [...gs.mesh, ...gs.fanout]) for (const id of [...peers]) if (!opts.entitled(id, topic)) peers.delete(id)
      for (const [id, w] of [...withheld]) {
        // Gossipsub forgets a peer when it disconnects; a subscription replayed after that would never be.
        if (!gs.peers.has(id)) {
          withheld.delete(id)
          continue
        }
        const now = [...w.topics].filter((t) => opts.entitled(id, t))
        if (now.length === 0) continue
        for (const t of now) w.topics.delete(t)
        if (w.topics.size === 0) withheld.delete(id)
        stats.admitted += now.length
        // Through gossipsub's own path: recorded, grafted if there is room, and announced to listeners.
        original(w.peer, { subscriptions: now.map((topic) => ({ topic, subscribe: true })), messages: [] }).catch(() => {})
      }
    },
  }
}

/**
 * Entitlement for workspace topics: a peer may have a workspace's topic if both it and this device
 * are members of that workspace; every other topic is nobody's. `update()` after membership changes.
 */
export function workspaceEntitlement(
  workspaces: Workspaces,
  self: string,
): { entitled(peerId: string, topic: string): boolean; update(): void } {
  let byTopic = new Map<string, string>()
  const update = (): void => {
    byTopic = new Map(workspaces.ids().map((ws) => [workspaceTopic(ws), ws]))
  }
  update()
  return {
    update,
    entitled(peerId, topic) {
      const ws = byTopic.get(topic)
      return ws !== undefined && workspaces.roleOf(ws, self) !== undefined && workspaces.roleOf(ws, peerId) !== undefined
    },
  }
}
