/**
 * The Automerge replica of one open document. It lives in the editor's worker (replica-worker.ts),
 * off the window's thread: applying a teammate's change costs tens of milliseconds in a long document
 * (Automerge walks the text's operations), and the window must never wait for that.
 *
 * Local edits change the replica as they come; their change bytes are sent with `doc.applyChanges`,
 * in order over the one channel, so the peer takes them in causal order. Nothing waits for a reply to
 * send: up to MAX_IN_FLIGHT requests are outstanding, and the sync status follows the
 * acknowledgements as they come. After a quiet frame a keystroke leaves at once as a change of its
 * own; in a fast run the keys typed until the next turn leave together as one change, so a burst is a
 * few changes and requests (and gossip messages), not one per key. Remote changes arrive as
 * `doc.changes` events: applied at once once as long as the last apply took has passed since it
 * ended; those that arrive sooner are applied together in the next turn, or, after an apply that
 * took longer, once as long again has passed (Automerge applies many changes in one call in about the
 * time of one).
 */
import * as A from '@automerge/automerge'
import type { DocContent } from '../../../shared/doc-content.ts'
import type { PeerClient } from '../../../shared/protocol.ts'
import { MAX_CHANGES_PER_MESSAGE, MAX_CLIENT_MESSAGE_BYTES } from '../../../shared/limits.ts'
import { errorCode } from '../lib/errors.ts'
import { Emitter } from '../lib/emitter.ts'
/**
 * Runs `fn` soon, once: in the editor's worker at its next turn, a few milliseconds later
 * (replica-worker.ts), or `afterMs` later if that is later still.
 */
export type Scheduler = (fn: () => void, afterMs?: number) => void

interface ReplicaEvents {
  /** The document changed (a local edit or remote changes). */
  change: []
  /** Remote changes were applied: what they did to the document (Automerge's patches, in order). */
  remote: [A.Patch[]]
  /** The number of local changes not yet durable at the peer changed. */
  unsent: [number]
  /** The peer refused local changes (they are not in its copy); the replica should be reopened. */
  rejected: [Error]
}

/** A session whose events and results were checked at the boundary (`checkedClient`), or this process's own peer's. */
type Client = Pick<PeerClient, 'request' | 'onEvent'>

/** Local changes not yet acknowledged when a replica lost its peer, to resend from the next one. */
const stranded = new Map<string, Uint8Array[]>()
/**
 * Edits made in a window after its replica broke (a teammate's change that did not apply, see
 * `applyRemote`), to make again on the document's next replica: they are not made on the broken one.
 * Their positions are those of the text the window showed, which is the text before the change that
 * broke it; the next replica applies them to the peer's copy (which leaves that change out).
 */
const afterBreak = new Map<string, ((doc: A.Doc<DocContent>) => void)[]>()

// Leave room in one request for the CBOR envelope around the changes.
const REQUEST_BUDGET_BYTES = MAX_CLIENT_MESSAGE_BYTES - 64 * 1024
/** A keystroke after this long without a send leaves at once; sooner ones wait for the next frame. */
const QUIET_MS = 16
/** Requests outstanding at once; past this, changes wait for an acknowledgement (a stalled peer). */
const MAX_IN_FLIGHT = 4
/** Teammates' changes that come within this long of the last apply's end wait for the next turn, however cheap it was. */
const MIN_REMOTE_GAP_MS = 1

export class DocReplica {
  readonly docId: string
  /** The heads this device last read the document at, as the peer said when it was opened (null: never). */
  readHeads: string[] | null = null
  private current: A.Doc<DocContent>
  private readonly client: Client
  private readonly schedule: Scheduler
  /** Milliseconds, monotonic: `performance.now` in the window; a test may drive it by hand. */
  private readonly now: () => number
  private readonly events = new Emitter<ReplicaEvents>()
  private readonly queue: Uint8Array[] = []
  /** Batches sent and not acknowledged, oldest first. */
  private readonly sending: Uint8Array[][] = []
  /** Changes in `sending`. */
  private inFlight = 0
  private flushScheduled = false
  /** When the last request left (ms, by `now`). */
  private lastSentAt = Number.NEGATIVE_INFINITY
  private readonly remoteQueue: Uint8Array[] = []
  private remoteScheduled = false
  /** When the last application of teammates' changes ended (ms, by `now`), and how long it took. */
  private lastRemoteEnd = Number.NEGATIVE_INFINITY
  private lastRemoteCost = 0
  private offEvents: () => void
  private closed = false
  /** The peer refused a local change: later ones would depend on it, so none are made. */
  private refused = false
  /**
   * A teammate's change failed to apply here. Automerge may have failed half way (a panic), and the
   * document must not be changed or applied to again: local edits wait in `afterBreak` for the next replica.
   */
  private broken = false
  /**
   * Local text edits were made on Automerge's backend (`spliceText`) since `current` was last brought
   * up to date: its heads and changes are the document's, its JavaScript view (`text`, `title`) is behind.
   */
  private stale = false
  /**
   * Keys typed on the backend (`spliceText`) and not yet committed: they become one change when the
   * replica next sends (`commitTyping`), so keys typed faster than it sends leave as one change.
   */
  private uncommitted = false

  private constructor(
    client: Client,
    docId: string,
    doc: A.Doc<DocContent>,
    schedule: Scheduler,
    offEvents: () => void,
    now: () => number,
  ) {
    this.client = client
    this.docId = docId
    this.current = doc
    this.schedule = schedule
    this.offEvents = offEvents
    this.now = now
  }

  /**
   * Opens `docId` at the peer and loads it; remote changes that arrive meanwhile are kept.
   * `beforeLoad` runs before Automerge loads the bytes (which blocks the thread for a large
   * document: about 70 ms for 100k changes), so a view can paint a progress indicator first.
   * `now` is the clock the send policy reads (a test passes one it advances with its frames).
   */
  static async open(
    client: Client,
    docId: string,
    schedule: Scheduler,
    beforeLoad?: (bytes: number) => Promise<void>,
    now: () => number = () => performance.now(),
  ): Promise<DocReplica> {
    const early: Uint8Array[] = []
    let replica: DocReplica | null = null
    const off = client.onEvent((e) => {
      // Checked once already, as the session's every event is (the worker's `checkedClient`).
      if (e.type !== 'doc.changes' || e.docId !== docId || e.changes.length === 0) return
      if (replica) replica.receive(e.changes)
      else early.push(...e.changes)
    })
    try {
      const opened = await client.request('doc.open', { docId })
      await beforeLoad?.(opened.bytes.byteLength)
      // `unchecked`: the bytes come from this device's own peer, which saved them from a document
      // it had verified change by change; checking again recomputes every change's hash, about
      // two thirds of the load (for 100k changes: 218 ms checked, 68 ms unchecked, measured here).
      const doc = A.load<DocContent>(opened.bytes, { actor: opened.actor, unchecked: true })
      replica = new DocReplica(client, docId, doc, schedule, off, now)
      replica.readHeads = opened.readHeads
    } catch (err) {
      off()
      throw err
    }
    if (early.length) replica.receive(early)
    const leftover = stranded.get(docId)
    if (leftover) {
      stranded.delete(docId)
      replica.current = A.applyChanges(replica.current, leftover)[0]
      replica.enqueue(leftover)
    }
    const redo = afterBreak.get(docId)
    if (redo) {
      afterBreak.delete(docId)
      for (const fn of redo) replica.change(fn)
    }
    return replica
  }

  /** The document, its JavaScript view brought up to date with the local edits made since (see `spliceText`). */
  doc(): A.Doc<DocContent> {
    return this.fresh()
  }

  /**
   * The document as it is, for what reads it by path through Automerge (cursors): its JavaScript view
   * may lag local text edits (`spliceText`), so do not read its values, nor its heads (reading heads
   * would commit the typing behind the replica's back).
   */
  docForCursors(): A.Doc<DocContent> {
    return this.current
  }

  private fresh(): A.Doc<DocContent> {
    // Applying (even nothing) closes the backend's open transaction: commit the typing first, as ours.
    this.commitTyping()
    if (this.stale) {
      this.stale = false
      // Brings the view up to the backend: the patches of the local edits made on it since.
      this.current = A.applyChanges(this.current, [])[0]
    }
    return this.current
  }

  /**
   * Typing: splices of the text, given last first (each leaves the positions before it as they were).
   * - Made on Automerge's backend, without updating the document's JavaScript view now. `A.change`
   *   updates it with every change (Automerge works out the change's patches and applies them to a new
   *   view): about two thirds of a keystroke's cost here (session 31: 350–800 µs per key with it,
   *   170–200 µs without). The view is brought up to date when something reads it (`doc`, `text`,
   *   `title`) or before teammates' changes are applied (so their patches are theirs alone).
   * - Committed as a change when the replica sends (`commitTyping`): after a quiet frame that is at
   *   once (one key, one change); in a fast run at the next turn, every key typed meanwhile in one
   *   change. Each change is sealed, signed, sent, checked and applied by every teammate, so a burst of
   *   100 keys is a handful of changes, not 100 (session 32).
   */
  spliceText(splices: readonly (readonly [at: number, del: number, insert: string])[]): void {
    const obj = this.closed || this.refused || this.broken ? null : this.textObject()
    if (obj === null) {
      // Closed, refused or broken (change() decides what then), or no text yet: the usual way.
      this.change((d) => {
        if (typeof d.text !== 'string') (d as DocContent).text = ''
        for (const [at, del, ins] of splices) A.splice(d, ['text'], at, del, ins)
      })
      return
    }
    if (splices.length === 0) return
    const backend = A.getBackend(this.current)
    for (const [at, del, ins] of splices) backend.splice(obj, at, del, ins)
    this.stale = true
    if (!this.uncommitted) {
      this.uncommitted = true
      this.events.emit('unsent', this.unsent())
    }
    this.events.emit('change')
    this.kick()
  }

  /**
   * Commits the keys typed since the last commit as one change and queues it. Everything that reads
   * the document's heads or changes it otherwise calls this first: Automerge's backend would
   * otherwise close the open transaction itself, and its change would never be sent.
   */
  private commitTyping(): void {
    if (!this.uncommitted) return
    this.uncommitted = false
    const backend = A.getBackend(this.current)
    // As A.change: the time in whole seconds; no change when the splices changed nothing.
    const bytes = backend.commit(undefined, Math.floor(Date.now() / 1000)) === null ? null : backend.getLastLocalChange()
    if (bytes) this.queue.push(bytes)
    else this.events.emit('unsent', this.unsent())
  }

  /** The id of the document's text object (null: it has none, or its text is not a text object). */
  private textObject(): string | null {
    const v = A.getBackend(this.current).getWithType('_root', 'text')
    return v?.[0] === 'text' ? v[1] : null
  }

  change(fn: (doc: A.Doc<DocContent>) => void): void {
    if (this.closed || this.refused) return
    this.commitTyping()
    if (this.broken) {
      const waiting = afterBreak.get(this.docId)
      if (waiting) waiting.push(fn)
      else afterBreak.set(this.docId, [fn])
      this.events.emit('unsent', this.unsent())
      return
    }
    const before = A.getHeads(this.current)
    this.current = A.change(this.fresh(), fn)
    // An empty change leaves the heads alone, and getLastLocalChange would return the previous one.
    if (A.equals(before, A.getHeads(this.current))) return
    const bytes = A.getLastLocalChange(this.current)
    if (bytes) this.enqueue([bytes])
    this.events.emit('change')
  }

  /** Subscribes to any replica event; returns the unsubscribe function. */
  listen<K extends keyof ReplicaEvents>(event: K, fn: (...args: ReplicaEvents[K]) => void): () => void {
    this.events.on(event, fn)
    return () => this.events.off(event, fn)
  }

  text(): string {
    const doc = this.fresh()
    return typeof doc.text === 'string' ? doc.text : ''
  }

  title(): string {
    const doc = this.fresh()
    return typeof doc.title === 'string' ? doc.title : ''
  }

  /** Local changes not yet durable at the peer (including those kept while it is unreachable). */
  unsent(): number {
    return (
      (this.uncommitted ? 1 : 0) +
      this.queue.length +
      this.inFlight +
      (stranded.get(this.docId)?.length ?? 0) +
      (afterBreak.get(this.docId)?.length ?? 0)
    )
  }

  /** Sends queued local changes now instead of at the next frame; resolves when all are durable. */
  async flushNow(): Promise<void> {
    this.commitTyping()
    while (this.queue.length + this.inFlight > 0 && !this.closed) {
      while (this.queue.length > 0 && this.sending.length < MAX_IN_FLIGHT) void this.flush()
      if (this.queue.length + this.inFlight === 0) break
      await new Promise<void>((r) => {
        const off = this.listen('unsent', () => {
          off()
          r()
        })
      })
    }
  }

  /** Stops listening and closes the document at the peer once queued changes are sent. */
  async close(): Promise<void> {
    if (this.closed) return
    try {
      await this.flushNow()
    } finally {
      this.closed = true
      this.offEvents()
      await this.client.request('doc.close', { docId: this.docId }).catch(() => {})
    }
  }

  private enqueue(changes: Uint8Array[]): void {
    this.queue.push(...changes)
    this.events.emit('unsent', this.unsent())
    this.kick()
  }

  /** Sends what is queued: at once after a quiet frame, else at the next frame; at most MAX_IN_FLIGHT requests out. */
  private kick(): void {
    if (this.flushScheduled || this.sending.length >= MAX_IN_FLIGHT || (this.queue.length === 0 && !this.uncommitted) || this.closed) return
    this.flushScheduled = true
    const run = (): void => {
      this.flushScheduled = false
      void this.flush()
    }
    if (this.now() - this.lastSentAt >= QUIET_MS) queueMicrotask(run)
    else this.schedule(run)
  }

  private async flush(): Promise<void> {
    if (!this.refused) this.commitTyping()
    if (this.sending.length >= MAX_IN_FLIGHT || this.queue.length === 0 || this.refused) return
    let bytes = 0
    let n = 0
    while (n < this.queue.length && n < MAX_CHANGES_PER_MESSAGE && (n === 0 || bytes + this.queue[n]!.byteLength <= REQUEST_BUDGET_BYTES)) {
      bytes += this.queue[n]!.byteLength
      n++
    }
    const batch = this.queue.splice(0, n)
    this.sending.push(batch)
    this.inFlight += batch.length
    this.lastSentAt = this.now()
    try {
      await this.client.request('doc.applyChanges', { docId: this.docId, changes: batch })
      this.settled(batch)
    } catch (err) {
      // Once one fails, those sent after it (which build on it) fail too, or were left to fail.
      if (!this.settled(batch)) return
      if (errorCode(err) === 'unreachable') {
        // The peer is gone (restarting, or the socket closed). Keep them, every batch sent after
        // this one and any typed until the window reconnects, in order, for the replica that opens
        // this document next: it sends them again.
        const later = this.sending.splice(0).flat()
        this.inFlight = 0
        stranded.set(this.docId, [...(stranded.get(this.docId) ?? []), ...batch, ...later, ...this.queue.splice(0)])
      } else {
        this.sending.length = 0
        this.inFlight = 0
        this.queue.length = 0
        this.refused = true
        this.events.emit('rejected', err instanceof Error ? err : new Error(String(err)))
      }
    }
    this.events.emit('unsent', this.unsent())
    this.kick()
  }

  /** Takes an answered batch off `sending`; false if it was not there (a failure before it took it). */
  private settled(batch: Uint8Array[]): boolean {
    const i = this.sending.indexOf(batch)
    if (i < 0) return false
    this.sending.splice(i, 1)
    this.inFlight -= batch.length
    return true
  }

  /**
   * Teammates' changes: applied at once when as long as the last apply took has passed since it ended
   * (a keystroke after a quiet spell, or the next run of a teammate's burst after a cheap apply, shows
   * without waiting); those that arrive during an apply or sooner after it are queued, and go together
   * in one batch at the next scheduled turn, or, if the last apply took longer than a turn, once as
   * long again has passed since it ended. (Session 31: until then, anything within QUIET_MS of the last
   * apply waited for the next turn, however cheap that apply was: 8 ms more per run of a burst.) Automerge 3 applies a call in a time that grows with the document and
   * hardly with the batch (a long text: 50–90 ms for one keystroke or for 25 frames of them, measured
   * in bench/results/latest.md, session 29), so under a stream of changes that spacing halves the calls
   * and leaves half the thread for the window's own edits, and a keystroke after a quiet spell still
   * shows at once. Session 26 measured a spacing after every apply, quiet or not, and it cost W1b's
   * typing p50 in a long document up to 2.5×; this one waits only when changes queue.
   */
  private receive(changes: Uint8Array[]): void {
    if (this.closed || this.broken) return
    this.remoteQueue.push(...changes)
    if (this.remoteScheduled) return
    const sinceEnd = this.now() - this.lastRemoteEnd
    if (sinceEnd >= QUIET_MS || sinceEnd >= Math.max(MIN_REMOTE_GAP_MS, this.lastRemoteCost)) {
      this.applyRemote()
      return
    }
    this.remoteScheduled = true
    this.schedule(
      () => {
        this.remoteScheduled = false
        if (!this.closed) this.applyRemote()
      },
      Math.max(0, this.lastRemoteCost - sinceEnd),
    )
  }

  private applyRemote(): void {
    if (this.closed || this.remoteQueue.length === 0) return
    const batch = this.remoteQueue.splice(0)
    const patches: A.Patch[] = []
    const started = this.now()
    try {
      this.current = A.applyChanges(this.fresh(), batch, { patchCallback: (p) => void patches.push(...p) })[0]
    } catch (err) {
      this.lastRemoteEnd = this.now()
      this.broken = true
      this.events.emit('rejected', new Error(`The peer sent changes this window could not apply: ${(err as Error).message}`))
      return
    }
    this.events.emit('change')
    this.events.emit('remote', patches)
    this.lastRemoteEnd = this.now()
    this.lastRemoteCost = this.lastRemoteEnd - started
  }
}
