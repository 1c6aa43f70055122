/**
 * Catch-up over a direct stream, for what gossip missed (offline, late joiners, lost messages).
 *
 *   dialer    → summary  (every membership op, and a 16-byte digest of each document's heads)
 *   responder → want     (ops the dialer lacked; the responder's heads of every document that differs)
 *   dialer    → changes* (what the responder lacks), heads (its own heads of those documents), end
 *   responder → changes* (what the dialer lacks), end
 *
 * Equal workspaces cost one round trip of digests. Each change travels with its author's signature
 * and passes the same validation as gossip.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { MAX_STREAM_FRAME_BYTES } from '../../../shared/limits.ts'
import type { PeerStore } from '../store/types.ts'
import type { Workspaces } from '../workspace/workspaces.ts'
import type { GrapevineNode } from '../net/node.ts'
import { describeFailure } from '../net/failure.ts'
import { guardStreams, peerLimitsOf } from '../net/limits.ts'
import type { Log } from '../log.ts'
import {
  CATCHUP_PROTOCOL,
  catchupFrame,
  decodeMessage,
  encodeMessage,
  PEER_PROTOCOL_VERSION,
  type CatchupFrame,
  type SignedChange,
  type SignedOp,
} from '../wire/peer-protocol.ts'
import { sha256 } from '../identity/keys.ts'
import { envelopeOf, isRejection, validateChange, type ValidChange } from './change-validation.ts'
import type { EpochKeys } from '../workspace/epoch-keys.ts'
import type { Documents } from './documents.ts'
import { heldChangesOf, type HeldChanges } from './held-changes.ts'

const FRAME_ITEMS = 8192
const FRAME_BYTES = 1024 * 1024
const SESSION_TIMEOUT_MS = 5 * 60_000
/** A non-member gets this long to take its refusal. */
const REFUSE_TIMEOUT_MS = 2_000

export interface CatchupStats {
  sessions: number
  framesSent: number
  bytesSent: number
  changesSent: number
  changesReceived: number
  rejected: number
}

type Frame<T extends CatchupFrame['t']> = Extract<CatchupFrame, { t: T }>

class FrameStream {
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly stats: CatchupStats
  constructor(stream: Stream, stats: CatchupStats) {
    this.lp = lpStream(stream, { maxDataLength: MAX_STREAM_FRAME_BYTES })
    this.stats = stats
  }
  async send(frame: CatchupFrame, signal: AbortSignal): Promise<void> {
    const data = encodeMessage(frame)
    this.stats.framesSent++
    this.stats.bytesSent += data.byteLength
    await this.lp.write(data, { signal })
  }
  async read(signal: AbortSignal): Promise<CatchupFrame> {
    const data = await this.lp.read({ signal })
    return decodeMessage(catchupFrame, data.subarray(), MAX_STREAM_FRAME_BYTES, 'catch-up frame')
  }
  async expect<T extends CatchupFrame['t']>(t: T, signal: AbortSignal): Promise<Frame<T>> {
    const f = await this.read(signal)
    if (f.t === 'refuse') throw new Error(`peer refused catch-up: ${f.reason}`)
    if (f.t !== t) throw new Error(`catch-up: expected ${t}, got ${f.t}`)
    return f as Frame<T>
  }
}

/** A catch-up session this peer dialled failed: at which step, and why. */
export class CatchupError extends Error {
  readonly step: string
  readonly reason: string
  constructor(step: string, reason: string, cause: unknown) {
    super(`catch-up failed while ${step}: ${reason}`, { cause })
    this.name = 'CatchupError'
    this.step = step
    this.reason = reason
  }
}

/** The Error to abort a stream with, and to hand on, for whatever was thrown. */
function asError(err: unknown, message: string): Error {
  return err instanceof Error ? err : new Error(message)
}

const opHash = (op: SignedOp): string => sha256(op.b).toString('hex')
const digestKey = (d: Uint8Array): string => Buffer.from(d).toString('hex')

export class Catchup {
  readonly stats: CatchupStats = { sessions: 0, framesSent: 0, bytesSent: 0, changesSent: 0, changesReceived: 0, rejected: 0 }
  private readonly inflight = new Map<string, Promise<void>>()
  private readonly node: GrapevineNode
  private readonly workspaces: Workspaces
  private readonly documents: Documents
  private readonly store: PeerStore
  private readonly log: Log
  private readonly held: HeldChanges
  private readonly keys: EpochKeys

  constructor(node: GrapevineNode, workspaces: Workspaces, keys: EpochKeys, documents: Documents, store: PeerStore, log: Log) {
    this.node = node
    this.workspaces = workspaces
    this.keys = keys
    this.documents = documents
    this.store = store
    this.log = log
    this.held = heldChangesOf(workspaces, keys, documents, store, log)
  }

  async start(): Promise<void> {
    // Per-peer and strangers' rate limits (net/limits.ts) before a session starts.
    const respond = guardStreams(this.node, CATCHUP_PROTOCOL, (stream, connection) => this.respond(stream, connection))
    await this.node.handle(CATCHUP_PROTOCOL, respond, { maxInboundStreams: 16 })
  }

  /** Runs catch-up of one workspace with a peer, unless one is already running. */
  sync(peer: PeerId, workspaceId: string): Promise<void> {
    const key = `${peer.toString()}/${workspaceId}`
    const running = this.inflight.get(key)
    if (running) return running
    const p = this.dial(peer, workspaceId).finally(() => this.inflight.delete(key))
    this.inflight.set(key, p)
    return p
  }

  /** Rejects with a CatchupError that says at which step the session failed and why. */
  private async dial(peer: PeerId, ws: string): Promise<void> {
    const signal = AbortSignal.timeout(SESSION_TIMEOUT_MS)
    const remote = peer.toString()
    let step = 'opening a stream'
    let stream: Stream | undefined
    try {
      stream = await this.node.dialProtocol(peer, CATCHUP_PROTOCOL, { signal })
      const io = new FrameStream(stream, this.stats)
      step = 'sending the summary'
      const ops = this.workspaces.signedOps(ws)
      await io.send({ t: 'summary', v: PEER_PROTOCOL_VERSION, ws, ops, docs: this.documents.digests(ws) }, signal)
      step = 'waiting for the want list'
      const want = await io.expect('want', signal)
      await this.workspaces.ingest(ws, want.ops)
      // Lockboxes for this device may have come with them: open them before the changes sealed under them.
      await this.keys.settled(ws)
      step = 'sending changes'
      for (const [docId, theirHeads] of want.docs) await this.sendMissing(io, ws, docId, theirHeads, signal)
      const mine = want.docs.map(([docId]): [string, string[]] => [docId, this.has(ws, docId) ? this.documents.heads(docId) : []])
      await io.send({ t: 'heads', docs: mine }, signal)
      await io.send({ t: 'end' }, signal)
      step = 'receiving changes'
      await this.receiveChanges(io, ws, remote, signal)
      this.keys.synced(ws, remote)
      this.recordSynced(
        remote,
        want.docs.map(([d]) => d),
      )
      step = 'closing the stream'
      await stream.close({ signal })
    } catch (err) {
      const cause = this.cause(err, signal)
      stream?.abort(asError(err, cause))
      throw new CatchupError(step, cause, err)
    }
  }

  /** The cause of a failed session; our own deadline first, since a timed-out wait may reject with anything. */
  private cause(err: unknown, signal: AbortSignal): string {
    if (signal.aborted) return `timed out after ${SESSION_TIMEOUT_MS / 1000} s (${describeFailure(err)})`
    return describeFailure(err)
  }

  private async respond(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(SESSION_TIMEOUT_MS)
    const io = new FrameStream(stream, this.stats)
    const remote = connection.remotePeer.toString()
    let step = 'waiting for the summary'
    // A peer that shares no workspace with us is refused before a byte of it is read.
    if (this.workspaces.shared(remote).length === 0) return this.refuse(io, stream, remote, 'not a member of any workspace here')
    try {
      const summary = await io.expect('summary', signal)
      const ws = summary.ws
      // Membership first, from what we already hold: nothing a non-member sends is ingested. A new
      // member whose `add` has not reached us yet is refused until gossip or another catch-up brings it.
      const members = (): boolean =>
        this.workspaces.roleOf(ws, remote) !== undefined && this.workspaces.roleOf(ws, this.node.peerId.toString()) !== undefined
      if (!members()) return this.refuse(io, stream, remote, `not a member of ${ws}`)
      await this.workspaces.ingest(ws, summary.ops)
      await this.keys.settled(ws)
      // A member's ops may say it left or was removed (that is how a leave reaches us): then it gets nothing.
      if (!members()) return this.refuse(io, stream, remote, `no longer a member of ${ws}`)
      this.stats.sessions++
      const theirOps = new Set(summary.ops.map(opHash))
      const theirDocs = new Map(summary.docs.map(([id, d]) => [id, digestKey(d)]))
      const differing: [string, string[]][] = []
      for (const [docId, digest] of this.documents.digests(ws)) {
        if (theirDocs.get(docId) !== digestKey(digest)) differing.push([docId, this.documents.heads(docId)])
        theirDocs.delete(docId)
      }
      for (const docId of theirDocs.keys()) differing.push([docId, []])
      const ops = this.workspaces.signedOps(ws).filter((op) => !theirOps.has(opHash(op)))
      step = 'sending the want list'
      await io.send({ t: 'want', ops, docs: differing }, signal)
      step = 'receiving changes'
      const theirHeads = await this.receiveChanges(io, ws, remote, signal)
      step = 'sending changes'
      for (const [docId, heads] of theirHeads) await this.sendMissing(io, ws, docId, heads, signal)
      await io.send({ t: 'end' }, signal)
      this.keys.synced(ws, remote)
      this.recordSynced(
        remote,
        differing.map(([d]) => d),
      )
      step = 'closing the stream'
      await stream.close({ signal })
    } catch (err) {
      const cause = this.cause(err, signal)
      this.log('warn', `catch-up with ${remote} failed while ${step}: ${cause}`)
      stream.abort(asError(err, cause))
    }
  }

  /** Refuses a session, counted per source in the log (never a line each); a refusal that cannot be delivered is dropped. */
  private async refuse(io: FrameStream, stream: Stream, remote: string, why: string): Promise<void> {
    peerLimitsOf(this.node)?.note('catch-up not-member', remote, why)
    const signal = AbortSignal.timeout(REFUSE_TIMEOUT_MS)
    try {
      await io.send({ t: 'refuse', reason: 'not a member of this workspace' }, signal)
      await stream.close({ signal })
    } catch (err) {
      stream.abort(asError(err, 'refused'))
    }
  }

  private has(ws: string, docId: string): boolean {
    return this.store.getDocument(docId)?.workspaceId === ws
  }

  private async sendMissing(io: FrameStream, ws: string, docId: string, theirHeads: string[], signal: AbortSignal): Promise<void> {
    if (!this.has(ws, docId)) return
    const rows = this.documents.missingFor(docId, theirHeads)
    let items: SignedChange[] = []
    let size = 0
    for (const r of rows) {
      // About 200 bytes of envelope, and 34 per membership head (usually one; at most 64).
      const cost = r.bytes.byteLength + 200 + (r.m?.length ?? 0) * 34
      if (items.length >= FRAME_ITEMS || size + cost > FRAME_BYTES) {
        await io.send({ t: 'changes', ws, doc: docId, items }, signal)
        items = []
        size = 0
      }
      // Served as signed: sealed, or an older version's clear change with or without its membership heads.
      items.push(envelopeOf({ ...r, deps: r.deps ?? [] }))
      size += cost
    }
    if (items.length) await io.send({ t: 'changes', ws, doc: docId, items }, signal)
    this.stats.changesSent += rows.length
  }

  /** Reads change frames until `end`; returns the heads the other side reported on the way. */
  private async receiveChanges(io: FrameStream, ws: string, remote: string, signal: AbortSignal): Promise<[string, string[]][]> {
    const applied: Promise<void>[] = []
    let heads: [string, string[]][] = []
    for (;;) {
      const f = await io.read(signal)
      if (f.t === 'end') break
      if (f.t === 'heads') {
        heads = f.docs
        continue
      }
      if (f.t === 'refuse') throw new Error(`peer refused catch-up: ${f.reason}`)
      if (f.t !== 'changes' || f.ws !== ws) throw new Error(`catch-up: unexpected ${f.t} frame`)
      const valid: ValidChange[] = []
      const judge = this.workspaces.judge(ws)
      const keyOf = this.keys.lookup(ws)
      let aside = 0
      let example = ''
      for (const item of f.items) {
        const v = validateChange(ws, f.doc, item, judge, keyOf)
        if (!isRejection(v)) {
          valid.push(v)
          continue
        }
        // Authentic, but not allowed (yet): kept aside until its ops arrive or a member's change builds on it.
        const kept = this.held.hold(ws, f.doc, v)
        if (v.reason === 'unknown-membership' || v.reason === 'no-key') continue
        this.stats.rejected++
        if (!v.held) this.log('warn', `catch-up from ${remote}: change rejected (${v.reason}): ${v.detail}`)
        else if (kept) {
          // Logged once: the other side offers it again each round while it stays aside.
          aside++
          example ||= `${v.reason}: ${v.detail}`
        }
      }
      // One line per frame: a late joiner gets a removed member's whole history this way before its endorsement.
      if (aside) this.log('info', `catch-up from ${remote}: ${aside} changes to ${f.doc} kept aside until endorsed (${example})`)
      this.stats.changesReceived += valid.length
      if (valid.length) applied.push(this.documents.ingest(ws, f.doc, valid))
    }
    await Promise.all(applied)
    return heads
  }

  /** Told which documents a teammate's known heads changed for (sync status is then stale). */
  onPeerHeads: (docIds: string[]) => void = () => {}

  private recordSynced(remote: string, docIds: string[]): void {
    const at = Date.now()
    void this.store
      .write(() => {
        this.store.notePeerSynced(remote, at)
        for (const docId of docIds)
          if (this.store.getDocument(docId)) this.store.setPeerDocHeads(remote, docId, this.documents.heads(docId), at)
      })
      .then(
        () => this.onPeerHeads(docIds),
        () => {},
      )
  }
}
