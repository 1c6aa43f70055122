/**
 * Gossip: each workspace is a gossipsub topic. Outbound, this device's new changes (bundled per
 * document per tick), head announcements and membership ops. Inbound, the topic validator is the
 * gate: the forwarder's membership (the connection's authenticated peer, before a byte of the payload is
 * decoded), then size, CBOR, schema and every signature inside are checked before the message is
 * accepted and forwarded; anything else is rejected, which costs the forwarder gossipsub score and is
 * counted in the log (a summary per kind and source, never a line per junk message).
 *
 * One signature per message: gossipsub signs nothing (net/node.ts). Changes and membership ops carry
 * their authors' signatures; heads announcements and presence carry their sender's (`o`, `s`,
 * `originPayload`), so a forwarder cannot speak for another member.
 *
 * Every message goes first to each connected member over the live path (sync/live.ts), one hop; it is
 * checked here the same way (`receiveLive`, the stream's remote peer being the forwarder, and the sender
 * of what it sends). It is published on the topic too unless every member got it so (`send`). The copy
 * that comes second, by either path, is the same bytes, and is answered with the first one's verdict,
 * unchecked (`seen`). Teammates say over the live path whom they are connected to (sync/reach.ts), so
 * that a member who is away does not put every message on the topic.
 */
import { MAX_CHANGES_PER_MESSAGE, MAX_GOSSIP_MESSAGE_BYTES, MAX_HEADS_ANNOUNCED_DOCS } from '../../../shared/limits.ts'
import type { ChangeLog, Durable, ListingStore, PeerBook } from '../store/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'
import {
  decodeGossip,
  decodeMessage,
  encodeMessage,
  PEER_PROTOCOL_VERSION,
  presencePlain,
  workspaceTopic,
  WireError,
  type GossipMessage,
  type PresencePlain,
  type SignedChange,
} from '../wire/peer-protocol.ts'
import { CryptoError } from '../crypto/errors.ts'
import { openContent, sealContent } from '../crypto/seal.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import { VERDICT, type GossipSub, type GossipsubMessage } from '../net/node.ts'
import { tallyLog, type Log, type Tally } from '../log.ts'
import type { PeerScoring } from '../net/scoring.ts'
import { isRejection, validateChange, type Rejection, type ValidChange } from './change-validation.ts'
import type { Documents } from './documents.ts'
import { EarlyHeads } from './early-heads.ts'
import { heldChangesOf, type HeldChanges } from './held-changes.ts'
import { SeenMessages, type Live } from './live.ts'
import { verifyPayload } from '../identity/keys.ts'
import type { Presence, PresenceState } from './presence.ts'
import { Reach, REPORT_DEBOUNCE_MS, REPORT_EVERY_MS } from './reach.ts'

interface GossipStats {
  published: number
  accepted: number
  rejected: Record<string, number>
  /** Messages that came a second time (by the live path and by gossip), answered from `seen`. */
  duplicates: number
  /** Live messages for a workspace the sender and this device do not share (as seen here): dropped. */
  notShared: number
  /** Messages of this device's that every member of their workspace got by the live path: not published on the topic. */
  liveOnly: number
  /** Of those, the messages some member did not get because it is away (`Reach.away`). */
  awayLeftOut: number
  /** Reports of whom a teammate is connected to, received (sync/reach.ts). */
  reachReports: number
  /** Announcements of this device's heads sent (`announceHeads`). */
  headsAnnounced: number
  /** Well-formed messages of a later version than this one (a type or `v` not known here): dropped, nobody blamed. */
  newer: number
}

type Verdict = (typeof VERDICT)[keyof typeof VERDICT]

/**
 * This device's heads are announced HEADS_DELAY_MS after the first commit not announced yet, and no sooner
 * than `headsSpacing` after the last announcement. Each one goes to every member and costs each a message to
 * decode, a write and a sync status to work out. Announced 300 ms after the first commit whatever the team,
 * every peer announced two or three times a second while anyone typed (a teammate's keystrokes commit at
 * least every 250 ms), and each received that from every member: in W1 at N = 8 (three rounds), the 8
 * peers sent about 200 announcements and received 1,600 small messages (88 and 860 with the spacing). The
 * spacing grows with the team, so that a peer receives about as many announcements whatever its size
 * (traffic in N, not N²); an edit after a quiet spell is announced HEADS_DELAY_MS after its commit.
 */
const HEADS_DELAY_MS = 100
const HEADS_SPACING_PER_MEMBER_MS = 150
const HEADS_SPACING_MIN_MS = 300
const HEADS_SPACING_MAX_MS = 2_000

/** The least time between two heads announcements in a workspace of `members` devices (see HEADS_DELAY_MS above). */
export function headsSpacing(members: number): number {
  return Math.min(HEADS_SPACING_MAX_MS, Math.max(HEADS_SPACING_MIN_MS, HEADS_SPACING_PER_MEMBER_MS * (members - 1)))
}
/**
 * Teammates' heads announcements are gathered and written in one commit within this long, with whatever
 * else commits by then (teammates' changes do, `REMOTE_COMMIT_WITHIN_MS`): at N peers each announcing
 * up to a few times a second while typing, one commit (fsync) per announcement would be most of the disk work of a
 * typing session.
 */
const PEER_HEADS_WRITE_MS = 250

/** What gossip is built from (libp2p-style components, as the other parts of a peer). */
export interface GossipComponents {
  pubsub: GossipSub
  live: Live
  workspaces: Workspaces
  keys: EpochKeys
  documents: Documents
  store: Durable & ListingStore & PeerBook & ChangeLog
  scoring: PeerScoring
  log: Log
  /** Signs as this device (heads and presence). */
  sign: (payload: Uint8Array) => Uint8Array
}

export class Gossip {
  readonly stats: GossipStats = {
    published: 0,
    accepted: 0,
    rejected: {},
    duplicates: 0,
    notShared: 0,
    liveOnly: 0,
    awayLeftOut: 0,
    reachReports: 0,
    headsAnnounced: 0,
    newer: 0,
  }
  /** Verdicts on recent messages, by their bytes (accepted or ignored; a rejected one is judged again). */
  private readonly seen = new SeenMessages<Verdict>()
  private readonly outbox = new Map<string, { ws: string; items: SignedChange[] }>()
  private outboxScheduled = false
  private readonly headsDue = new Map<string, Set<string>>()
  private headsTimer: NodeJS.Timeout | null = null
  /** When this device last announced its heads (performance.now()). */
  private headsAnnouncedAt = Number.NEGATIVE_INFINITY
  /** Teammates' heads for documents not here yet, taken once the document is (`documents` 'heads'). */
  private readonly earlyHeads = new EarlyHeads()
  /** Teammates' heads announced and not written yet, by "peer doc"; the newest announcement wins. */
  private readonly peerHeads = new Map<string, { origin: string; docId: string; heads: string[]; at: number }>()
  /** A write of `peerHeads` is queued. */
  private peerHeadsQueued = false
  /** The node has started: topics can be subscribed to (`start`). */
  private started = false
  /** `stop` was called: nothing more is announced (changes committed while the peer stops still say 'heads'). */
  private stopped = false
  private readonly pubsub: GossipSub
  private readonly workspaces: Workspaces
  private readonly documents: Documents
  private readonly store: Durable & ListingStore & PeerBook & ChangeLog
  private readonly log: Log
  private readonly scoring: PeerScoring
  private readonly refusals: Tally
  private readonly held: HeldChanges
  private readonly keys: EpochKeys
  private readonly live: Live
  /** Signs as this device (heads and presence). */
  private readonly sign: (payload: Uint8Array) => Uint8Array
  /** Whom connected teammates reach (sync/reach.ts); this device's own reports go out from `sendReach`. */
  private readonly reach: Reach
  private reachTimer: NodeJS.Timeout | null = null
  private reachTicker: NodeJS.Timeout | null = null

  constructor(components: GossipComponents) {
    const { pubsub, live, workspaces, keys, documents, store, scoring, log, sign } = components
    this.sign = sign
    this.pubsub = pubsub
    this.live = live
    this.workspaces = workspaces
    this.keys = keys
    this.documents = documents
    this.store = store
    this.scoring = scoring
    this.log = log
    this.refusals = tallyLog(log, 'gossip rejected')
    this.held = heldChangesOf(components)
    this.reach = new Reach({ self: keys.deviceId, members: (ws) => workspaces.state(ws)?.members.keys(), now: Date.now })
    workspaces.on('members', (ws) => {
      this.join(ws)
      // A member added (this device, just joined, or a teammate it is connected to) changes what it reports.
      this.connectionsChanged()
    })
    workspaces.on('ops', (ws, ops) => this.send(ws, { t: 'members', v: PEER_PROTOCOL_VERSION, ws, ops }))
    documents.on('local', (ws, docId, items) => this.queueChanges(ws, docId, items))
    documents.on('heads', (ws, docId) => {
      this.takeEarlyHeads(ws, docId)
      this.queueHeads(ws, docId)
    })
  }

  /** Subscribes to every workspace's topic, once the node has started (gossipsub refuses it before). */
  start(): void {
    this.started = true
    for (const ws of this.workspaces.ids()) this.join(ws)
    this.reachTicker = setInterval(() => this.sendReach(), REPORT_EVERY_MS)
    this.reachTicker.unref()
    // Teammates connected before this (the network starts first) hear at once whom this device reaches.
    this.connectionsChanged()
  }

  /** This device's connections or a workspace's members changed: its teammates are told whom it reaches now (after `REPORT_DEBOUNCE_MS`). */
  connectionsChanged(): void {
    if (!this.started || this.stopped) return
    this.reachTimer ??= setTimeout(() => this.sendReach(), REPORT_DEBOUNCE_MS)
  }

  /** A teammate disconnected: its reports no longer say whom anyone reaches through it. */
  disconnected(peer: string): void {
    this.reach.forget(peer)
    this.connectionsChanged()
  }

  /** Tells each connected teammate, by the live path only, which members of each shared workspace this device is connected to. */
  private sendReach(): void {
    if (this.reachTimer) clearTimeout(this.reachTimer)
    this.reachTimer = null
    const connected = this.live.connectedPeers()
    for (const ws of this.workspaces.ids()) {
      if (this.workspaces.roleOf(ws, this.keys.deviceId) === undefined) continue
      const data = encodeMessage({ t: 'reach', v: PEER_PROTOCOL_VERSION, ws, to: this.reach.report(ws, connected) })
      this.live.send((peer) => this.workspaces.roleOf(ws, peer) !== undefined, data)
    }
  }

  /** Subscribes to a workspace's topic (idempotent; before `start`, `start` does). */
  join(workspaceId: string): void {
    if (!this.started) return
    const topic = workspaceTopic(workspaceId)
    if (this.pubsub.topicValidators.has(topic)) return
    this.pubsub.topicValidators.set(topic, (source, msg) => this.validate(workspaceId, source.toString(), msg))
    this.pubsub.subscribe(topic)
  }

  private reject(source: string, reason: string, detail: string): typeof VERDICT.reject {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1
    this.scoring.strike(source)
    this.refusals.note(reason, source, detail)
    return VERDICT.reject
  }

  /** Whether `err` says a message is of a later version than this one (counted; not forwarded, nobody blamed). */
  private newer(err: unknown): boolean {
    if (!(err instanceof WireError) || err.kind !== 'newer') return false
    this.stats.newer++
    return true
  }

  private async validate(workspaceId: string, source: string, msg: GossipsubMessage): Promise<Verdict> {
    // Membership first: a stranger's payload is never decoded, and a teammate of another workspace cannot
    // relay into this one.
    if (this.workspaces.roleOf(workspaceId, source) === undefined)
      return this.reject(source, 'not-member', `forwarder ${source} is not a member`)
    const key = SeenMessages.key(msg.data)
    const seen = this.seen.get(key)
    if (seen !== undefined) {
      this.stats.duplicates++
      return seen
    }
    let m: GossipMessage
    try {
      m = decodeGossip(msg.data, MAX_GOSSIP_MESSAGE_BYTES, 'gossip message')
    } catch (err) {
      if (this.newer(err)) return VERDICT.ignore
      return this.reject(source, err instanceof WireError ? err.kind : 'malformed', (err as Error).message)
    }
    if (m.ws !== workspaceId) return this.reject(source, 'wrong-topic', `message for ${m.ws} on the topic of ${workspaceId}`)
    const verdict = await this.judge(workspaceId, null, source, m)
    if (verdict !== VERDICT.reject) this.seen.set(key, verdict)
    return verdict
  }

  /**
   * A message from a teammate's live stream (sync/live.ts): the remote peer sent it itself. Checked as
   * gossip is, except that the workspace is known only once decoded (the size is capped by the stream).
   */
  async receiveLive(origin: string, data: Uint8Array): Promise<'ok' | 'refuse'> {
    const key = SeenMessages.key(data)
    if (this.seen.get(key) !== undefined) {
      this.stats.duplicates++
      return 'ok'
    }
    let m: GossipMessage
    try {
      m = decodeGossip(data, MAX_GOSSIP_MESSAGE_BYTES, 'live message')
    } catch (err) {
      // A later version's message: dropped, and the stream stays (its sender is a teammate who upgraded).
      if (this.newer(err)) return 'ok'
      this.reject(origin, err instanceof WireError ? err.kind : 'malformed', (err as Error).message)
      return 'refuse'
    }
    // A workspace the two do not share, as this device sees it: most likely a membership op still on its way
    // (the sender was just added, or this device just left). Nothing is applied and nobody is blamed; gossip
    // and catch-up bring what matters once the op is here.
    if (this.workspaces.roleOf(m.ws, origin) === undefined || this.workspaces.roleOf(m.ws, this.keys.deviceId) === undefined) {
      this.stats.notShared++
      return 'ok'
    }
    const verdict = await this.judge(m.ws, origin, origin, m)
    if (verdict === VERDICT.reject) return 'refuse'
    // Heads and presence by the live path are taken on the stream's word (`originOf`), their signature unchecked: the
    // same bytes by gossip must still be checked. A reach report says nothing of who sent it either.
    if (m.t !== 'heads' && m.t !== 'presence' && m.t !== 'reach') this.seen.set(key, verdict)
    return 'ok'
  }

  /**
   * Who sent a heads announcement or presence: by gossip, `o`, if its signature holds and it is a member (a
   * message without `o` has no sender anyone can check). By the live path, the stream's remote peer
   * (`liveFrom`), whom the connection authenticated (Noise, with the key of its device id): `o`, if given,
   * must name it, and its signature, there for those who get the message by gossip, is not checked again
   * (an Ed25519 check for every teammate's announcement, several a second each while a team types, was
   * 5% of a peer's CPU in W7). An older version's message without `o` is that peer's too.
   */
  private originOf(
    workspaceId: string,
    liveFrom: string | null,
    m: Extract<GossipMessage, { t: 'heads' | 'presence' }>,
  ): string | Rejection {
    if (m.o === undefined || m.s === undefined) {
      if (liveFrom !== null && m.o === undefined && m.s === undefined) return liveFrom
      return { reason: 'bad-signature', detail: `a ${m.t} message by gossip without its sender's signature` }
    }
    if (liveFrom !== null && m.o !== liveFrom) return { reason: 'bad-signature', detail: `a live ${m.t} message in the name of ${m.o}` }
    if (liveFrom === null && !verifyPayload(m.o, originPayload(m), m.s))
      return { reason: 'bad-signature', detail: `a ${m.t} message whose signature is not ${m.o}'s` }
    if (this.workspaces.roleOf(workspaceId, m.o) === undefined) return { reason: 'not-member', detail: `${m.t} from ${m.o}, not a member` }
    return m.o
  }

  /** The checks and effects of one decoded message, whichever way it came; `liveFrom`: the live path's sender. */
  private async judge(workspaceId: string, liveFrom: string | null, source: string, m: GossipMessage): Promise<Verdict> {
    switch (m.t) {
      case 'changes': {
        const valid: ValidChange[] = []
        const waiting: Rejection[] = []
        const judge = this.workspaces.judge(workspaceId)
        const keyOf = this.keys.lookup(workspaceId)
        for (const item of m.items) {
          const v = validateChange(workspaceId, m.doc, item, judge, keyOf)
          // A change left out of the document here because it does not apply (quarantine.ts): it can only be
          // known as such once applied, so its first copy was taken and passed on; a copy sent again is not.
          if (!isRejection(v) && this.documents.refuses(m.doc, v.hash))
            return this.reject(source, 'bad-change', `change ${v.hash.slice(0, 12)} does not apply, and was left out of ${m.doc} here`)
          if (!isRejection(v)) valid.push(v)
          // Its membership heads name ops not here yet (the `members` message may still be on its
          // way), or its epoch's key is not here yet (the op with this device's lockbox may be).
          else if (v.reason === 'unknown-membership' || v.reason === 'no-key') waiting.push(v)
          else return this.reject(source, v.reason, v.detail)
        }
        if (valid.length) void this.documents.ingest(workspaceId, m.doc, valid, true)
        if (waiting.length) {
          // Kept until the ops or keys arrive; not forwarded meanwhile, and no fault of the sender's.
          for (const w of waiting) this.held.hold(workspaceId, m.doc, w)
          return VERDICT.ignore
        }
        break
      }
      case 'heads': {
        const origin = this.originOf(workspaceId, liveFrom, m)
        if (typeof origin !== 'string') return this.reject(source, origin.reason, origin.detail)
        const at = Date.now()
        for (const [docId, heads] of m.docs) {
          const owner = this.store.documentWorkspace(docId)
          if (owner === workspaceId) this.peerHeads.set(`${origin} ${docId}`, { origin, docId, heads, at })
          // A document whose first changes are still on their way here (its author announced as soon as it
          // committed): kept until they are, else nothing would say the teammate holds it until it changes again.
          else if (owner === undefined) this.earlyHeads.keep(docId, { ws: workspaceId, origin, heads, at })
        }
        if (!this.peerHeadsQueued) this.queuePeerHeads()
        break
      }
      case 'members':
        await this.workspaces.ingest(workspaceId, m.ops)
        break
      case 'presence': {
        const origin = this.originOf(workspaceId, liveFrom, m)
        if (typeof origin !== 'string') return this.reject(source, origin.reason, origin.detail)
        const epoch = Buffer.from(m.e).toString('hex')
        const key = this.keys.key(workspaceId, epoch)
        // A keeper, or a key still on its way: nothing to show, and no fault of the sender's.
        if (!key) return VERDICT.ignore
        let p: PresencePlain
        try {
          const plain = openContent(key, m.p, { kind: 'presence', subject: workspaceId, author: origin })
          p = decodeMessage(presencePlain, plain, 4096, 'presence')
        } catch (err) {
          if (err instanceof CryptoError || err instanceof WireError) return this.reject(source, 'bad-presence', err.message)
          throw err
        }
        this.keys.confirm(workspaceId, origin, epoch)
        this.presence?.receive(workspaceId, origin, { docId: p.doc, cursor: p.cursor }, p.utc)
        break
      }
      case 'reach':
        // Only its sender can say whom it reaches, and by gossip anyone could have sent it.
        if (liveFrom === null) return this.reject(source, 'live-only', 'a reach report by gossip')
        this.reach.receive(workspaceId, liveFrom, m.to)
        this.stats.reachReports++
        break
    }
    this.stats.accepted++
    return VERDICT.accept
  }

  /** Teammates' heads of `docId` that came before it did (see `judge`), now that it is here. */
  private takeEarlyHeads(ws: string, docId: string): void {
    const early = this.earlyHeads.take(docId)
    if (!early) return
    for (const h of early) {
      if (h.ws !== ws) continue
      const k = `${h.origin} ${docId}`
      if (!this.peerHeads.has(k)) this.peerHeads.set(k, { origin: h.origin, docId, heads: h.heads, at: h.at })
    }
    if (!this.peerHeadsQueued) this.queuePeerHeads()
  }

  /** Writes the heads gathered by the time the commit runs (announcements until then join it). */
  private queuePeerHeads(): void {
    this.peerHeadsQueued = true
    void this.store
      .writeSoon(() => {
        this.peerHeadsQueued = false
        const due = [...this.peerHeads.values()]
        this.peerHeads.clear()
        for (const h of due) this.store.setPeerDocHeads(h.origin, h.docId, h.heads, h.at)
        return [...new Set(due.map((h) => h.docId))]
      }, PEER_HEADS_WRITE_MS)
      .then(
        (docIds) => {
          if (docIds.length) this.onPeerHeads(docIds)
        },
        () => {
          // Not written (the store closed or failed): what is kept about teammates, which catch-up tells again.
          this.peerHeadsQueued = false
        },
      )
  }

  /** Told which documents a teammate's known heads changed for (sync status is then stale). */
  onPeerHeads: (docIds: string[]) => void = () => {}

  /** Where presence messages go once validated; set by the composition root. */
  presence: Presence | null = null

  /** Sealed under the current epoch's key; not sent at all without one (a keeper, or a key on its way). */
  publishPresence(ws: string, state: PresenceState, utc: number): void {
    const key = this.keys.current(ws)
    if (!key) return
    const plain = encodeMessage({ doc: state.docId, cursor: state.cursor, utc, at: Date.now() })
    const p = sealContent(key, plain, { kind: 'presence', subject: ws, author: this.keys.deviceId })
    this.send(
      ws,
      this.signed({ t: 'presence', v: PEER_PROTOCOL_VERSION, ws, e: Buffer.from(key.epochId, 'hex'), p, o: this.keys.deviceId }),
    )
  }

  /**
   * Leading edge: the first changes of a turn of the event loop are published at once (a keystroke
   * is not held for a tick); those that follow in the same turn go together when it ends.
   */
  private queueChanges(ws: string, docId: string, items: SignedChange[]): void {
    if (!this.outboxScheduled) {
      this.outboxScheduled = true
      setImmediate(() => this.flushOutbox())
      this.sendChanges(ws, docId, items)
      return
    }
    const box = this.outbox.get(docId) ?? { ws, items: [] }
    box.items.push(...items)
    this.outbox.set(docId, box)
  }

  private flushOutbox(): void {
    this.outboxScheduled = false
    for (const [docId, { ws, items }] of this.outbox) this.sendChanges(ws, docId, items)
    this.outbox.clear()
  }

  /** One message per document, split where it would grow past half the gossip limit. */
  private sendChanges(ws: string, docId: string, items: SignedChange[]): void {
    let batch: SignedChange[] = []
    let size = 0
    for (const item of items) {
      // About 200 bytes of envelope, and 34 per membership head (usually one; at most 64).
      const cost = item.c.byteLength + 200 + (item.m?.length ?? 0) * 34
      if (batch.length > 0 && (batch.length >= MAX_CHANGES_PER_MESSAGE || size + cost > MAX_GOSSIP_MESSAGE_BYTES / 2)) {
        this.send(ws, { t: 'changes', v: PEER_PROTOCOL_VERSION, ws, doc: docId, items: batch })
        batch = []
        size = 0
      }
      batch.push(item)
      size += cost
    }
    if (batch.length) this.send(ws, { t: 'changes', v: PEER_PROTOCOL_VERSION, ws, doc: docId, items: batch })
  }

  private queueHeads(ws: string, docId: string): void {
    if (this.stopped) return
    const set = this.headsDue.get(ws) ?? new Set()
    set.add(docId)
    this.headsDue.set(ws, set)
    if (this.headsTimer) return
    const spacing = headsSpacing(this.workspaces.state(ws)?.members.size ?? 2)
    const wait = Math.max(HEADS_DELAY_MS, this.headsAnnouncedAt + spacing - performance.now())
    this.headsTimer = setTimeout(() => this.announceHeads(), wait)
  }

  private announceHeads(): void {
    this.headsTimer = null
    if (this.stopped) return
    this.headsAnnouncedAt = performance.now()
    for (const [w, docs] of this.headsDue) {
      this.stats.headsAnnounced++
      const announced = [...docs].slice(0, MAX_HEADS_ANNOUNCED_DOCS).map((d): [string, string[]] => [d, this.documents.heads(d)])
      this.send(w, this.signed({ t: 'heads', v: PEER_PROTOCOL_VERSION, ws: w, docs: announced, o: this.keys.deviceId }))
    }
    this.headsDue.clear()
  }

  /** A heads announcement or presence with this device's signature (`originPayload`). */
  private signed<M extends Extract<GossipMessage, { t: 'heads' | 'presence' }>>(m: M): M {
    return { ...m, s: this.sign(originPayload(m)) }
  }

  private send(ws: string, m: GossipMessage): void {
    const data = encodeMessage(m)
    if (data.byteLength > MAX_GOSSIP_MESSAGE_BYTES) {
      this.log('warn', `not gossiping a ${data.byteLength}-byte ${m.t} message; catch-up will carry it`)
      return
    }
    this.stats.published++
    // Straight to connected members first (one hop), then to the topic for everyone else.
    const written = this.live.send((peer) => this.workspaces.roleOf(ws, peer) !== undefined, data)
    // When every member has it now, the topic would only send each a copy (all members are direct peers,
    // net/node.ts) and make each forward its copy to every other member: N² copies to decrypt, parse and
    // drop, a third of all the CPU a team of 8 spent per keystroke (79–87 ms over its 9 processes with
    // them, 53 ms without). A member not written to (away, relayed, its stream not open or full) is one
    // this device may reach only through others: then the topic carries it, as it always did.
    // A member who is away (sync/reach.ts) is not one: nobody could pass the message on to it, and catch-up
    // brings it what it missed when it is back.
    if (this.someoneMissed(ws, written))
      this.pubsub.publish(workspaceTopic(ws), data).catch((err: Error) => this.log('debug', `publish ${m.t}: ${err.message}`))
    else this.stats.liveOnly++
  }

  /** Whether a member of the workspace other than this device is not among `written`, and not away. */
  private someoneMissed(ws: string, written: Set<string>): boolean {
    const members = this.workspaces.state(ws)?.members
    if (!members) return true
    let connected: Set<string> | undefined
    let away = false
    for (const d of members.keys()) {
      if (d === this.keys.deviceId || written.has(d)) continue
      connected ??= this.live.connectedPeers()
      if (!this.reach.away(ws, d, connected)) return true
      away = true
    }
    if (away) this.stats.awayLeftOut++
    return false
  }

  /** Stops publishing; pending head announcements are dropped (catch-up covers them). */
  stop(): void {
    this.stopped = true
    if (this.headsTimer) clearTimeout(this.headsTimer)
    this.headsTimer = null
    if (this.reachTimer) clearTimeout(this.reachTimer)
    if (this.reachTicker) clearInterval(this.reachTicker)
    this.reachTimer = this.reachTicker = null
    // Queued heads commit with the store's close.
    this.flushOutbox()
    this.refusals.stop()
  }
}

/** What the sender of a heads announcement or presence signs: domain, workspace, sender and content. */
export function originPayload(m: Extract<GossipMessage, { t: 'heads' | 'presence' }>): Uint8Array {
  const head = Buffer.from(`grapevine/${m.t}/1\n${m.ws}\n${m.o ?? ''}\n`)
  if (m.t === 'presence') return Buffer.concat([head, m.e, m.p])
  return Buffer.concat([head, Buffer.from(m.docs.map(([doc, heads]) => `${doc}:${heads.join(',')}`).join('\n'))])
}
