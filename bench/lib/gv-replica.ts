/**
 * A client replica of one Grapevine document, as the editor's worker keeps one (renderer/src/editor/replica.ts,
 * with replica-worker.ts's scheduler): one Automerge change per keystroke, applied locally at once; change bytes sent with
 * `doc.applyChanges`, up to 4 requests in flight (in order, not waiting for answers): after a quiet
 * frame (QUIET_MS) a change leaves at once, else with the others queued at the worker's next turn (TURN_MS). Remote changes
 * (`doc.changes` events) are applied as the worker applies them: at once when QUIET_MS, or as long as the last apply took
 * (at least MIN_REMOTE_GAP_MS), have passed since it ended, else together at the next turn, or once the last apply's time has passed again since it ended (with `frameMs` 0: sends at once, and remote changes together with whatever else
 * arrived in the same turn of the event loop). Automerge 3 applies a batch in about the time of one change, and that
 * time grows with the text's length. Records when each request was sent, to split latency into frame wait and the rest.
 */
import * as A from '@automerge/automerge'
import type { DocContent } from '../../shared/doc-content.ts'
import type { PeerClient } from '../../shared/protocol.ts'
import { MAX_CHANGES_PER_MESSAGE } from '../../shared/limits.ts'
import { now } from './stats.ts'
import type { TextPeer } from './text-peer.ts'

/** As the editor (renderer/src/editor/replica.ts `QUIET_MS`): after this long without a send (or an apply), the next goes at once. */
const QUIET_MS = 16
/** As the editor (replica.ts `MIN_REMOTE_GAP_MS`). */
const MIN_REMOTE_GAP_MS = 1
/** As the editor's worker (replica-worker.ts `TURN_MS`): what comes sooner waits this long, with whatever else comes meanwhile. */
const TURN_MS = 8
/** As the editor (replica.ts `MAX_IN_FLIGHT`). */
const MAX_IN_FLIGHT = 4

export class GvReplica implements TextPeer {
  doc: A.Doc<DocContent>
  readonly docId: string
  private readonly client: PeerClient
  private readonly frameMs: number
  private queue: Uint8Array[] = []
  private inFlight = 0
  private scheduled = false
  private lastSentAt = Number.NEGATIVE_INFINITY
  private readonly listeners: (() => void)[] = []
  private idleWaiters: (() => void)[] = []
  private off: () => void
  /** [keystrokes sent so far, time] per request: which keystroke left in which request. */
  readonly sends: [number, number][] = []
  private queuedTotal = 0
  private sentTotal = 0
  /** Teammates' changes not applied yet, and when some were last applied. */
  private remoteQueue: Uint8Array[] = []
  private remoteScheduled = false
  /** When the last apply of teammates' changes ended, and how long it took. */
  private lastRemoteEnd = Number.NEGATIVE_INFINITY
  private lastRemoteCost = 0
  /** Typing made on Automerge's backend since the document's view was last brought up to date (as replica.ts `spliceText`). */
  private stale = false
  /** Keys (or frames) typed on the backend and not yet committed (as replica.ts `uncommitted`): one change when it next sends. */
  private uncommittedKeys = 0
  /** Keys each queued change holds, in queue order (for `sends`, which counts keys). */
  private queueKeys: number[] = []
  private keysQueued = 0
  error: Error | null = null

  private constructor(client: PeerClient, docId: string, doc: A.Doc<DocContent>, frameMs: number, off: () => void) {
    this.client = client
    this.docId = docId
    this.doc = doc
    this.frameMs = frameMs
    this.off = off
  }

  /** `frameMs` 0 sends every change at once (no frame batching); > 0: the editor worker's policy. */
  static async open(client: PeerClient, docId: string, frameMs = QUIET_MS): Promise<GvReplica> {
    const early: Uint8Array[] = []
    let r: GvReplica | null = null
    const off = client.onEvent((e) => {
      if (e.type !== 'doc.changes' || e.docId !== docId) return
      if (r) r.receive(e.changes)
      else early.push(...e.changes)
    })
    const opened = await client.request('doc.open', { docId })
    r = new GvReplica(client, docId, A.load<DocContent>(opened.bytes, { actor: opened.actor, unchecked: true }), frameMs, off)
    if (early.length) r.receive(early)
    return r
  }

  private receive(changes: Uint8Array[]): void {
    this.remoteQueue.push(...changes)
    if (this.remoteScheduled) return
    // As the editor's worker (replica.ts `receive`): at once after a quiet spell or once as long as the last apply
    // took has passed since it ended, else together at the next turn, or once that long has passed.
    const sinceEnd = now() - this.lastRemoteEnd
    if (this.frameMs > 0 && (sinceEnd >= this.frameMs || sinceEnd >= Math.max(MIN_REMOTE_GAP_MS, this.lastRemoteCost))) {
      this.applyRemote()
      return
    }
    this.remoteScheduled = true
    const go = (): void => {
      this.remoteScheduled = false
      this.applyRemote()
    }
    if (this.frameMs > 0) setTimeout(go, Math.max(TURN_MS, this.lastRemoteCost - sinceEnd))
    else setImmediate(go)
  }

  private applyRemote(): void {
    if (this.remoteQueue.length === 0) return
    const started = now()
    ;[this.doc] = A.applyChanges(this.fresh(), this.remoteQueue.splice(0))
    for (const l of this.listeners) l()
    this.lastRemoteEnd = now()
    this.lastRemoteCost = this.lastRemoteEnd - started
  }

  splice(pos: number, del: number, text: string): void {
    this.frame((splice) => splice(pos, del, text))
  }

  /**
   * Local edits of the text, made as the editor's worker makes them (replica.ts `spliceText`): on
   * Automerge's backend, the document's view brought up to date only when it is read, and committed
   * as one change when the replica next sends (`commitTyping`): a frame (W4) or a key typed after a
   * quiet frame is its own change; keys typed faster than the replica sends share one.
   */
  frame(fn: (splice: (pos: number, del: number, text: string) => void) => void): void {
    const text = this.textObject()
    if (text === null) {
      this.commitTyping()
      this.doc = A.change(this.fresh(), (d) => {
        if (typeof d.text !== 'string') d.text = ''
        fn((pos, del, t) => A.splice(d, ['text'], pos, del, t))
      })
      const bytes = A.getLastLocalChange(this.doc)
      if (bytes) this.enqueue(bytes, 1)
      return
    }
    const backend = A.getBackend(this.doc)
    fn((pos, del, t) => backend.splice(text, pos, del, t))
    this.stale = true
    this.uncommittedKeys++
    this.kick()
  }

  /** Commits what was typed since the last commit as one change, and queues it (as replica.ts `commitTyping`). */
  private commitTyping(): void {
    if (this.uncommittedKeys === 0) return
    const keys = this.uncommittedKeys
    this.uncommittedKeys = 0
    const backend = A.getBackend(this.doc)
    if (backend.commit(undefined, Math.floor(Date.now() / 1000)) === null) return
    const bytes = backend.getLastLocalChange()
    if (!bytes) return
    this.queue.push(bytes)
    this.queueKeys.push(keys)
    this.queuedTotal++
  }

  /** W7 names each keystroke by its change, and W2 and W5 make one change per keystroke: commits what was typed now (a key after a quiet frame, which the next microtask would commit). */
  commitNow(): void {
    this.commitTyping()
  }

  /** The text's length, from the backend while the view lags the typing (the app's window knows its own). */
  length(): number {
    if (this.stale) {
      const text = this.textObject()
      return text === null ? 0 : A.getBackend(this.doc).length(text)
    }
    return typeof this.doc.text === 'string' ? this.doc.text.length : 0
  }

  text(): string {
    const doc = this.fresh()
    return typeof doc.text === 'string' ? doc.text : ''
  }

  /** The id of the document's text object (null: none, or not a text object). */
  private textObject(): string | null {
    const v = A.getBackend(this.doc).getWithType('_root', 'text')
    return v?.[0] === 'text' ? v[1] : null
  }

  private fresh(): A.Doc<DocContent> {
    this.commitTyping()
    if (this.stale) {
      this.stale = false
      ;[this.doc] = A.applyChanges(this.doc, [])
    }
    return this.doc
  }

  onRemote(cb: () => void): void {
    this.listeners.push(cb)
  }

  /** Local changes queued or in flight, and typing not yet committed. */
  unsent(): number {
    return this.queuedTotal - this.sentTotal + (this.uncommittedKeys > 0 ? 1 : 0)
  }

  private enqueue(bytes: Uint8Array, keys: number): void {
    this.queue.push(bytes)
    this.queueKeys.push(keys)
    this.queuedTotal++
    this.kick()
  }

  private kick(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || (this.queue.length === 0 && this.uncommittedKeys === 0)) return
    this.scheduled = true
    const go = (): void => {
      this.scheduled = false
      this.flush()
    }
    // As the editor (replica.ts `kick`): at once after a quiet frame, else at the worker's next turn.
    if (this.frameMs === 0 || now() - this.lastSentAt >= this.frameMs) queueMicrotask(go)
    else setTimeout(go, TURN_MS)
  }

  private flush(): void {
    this.commitTyping()
    if (this.inFlight >= MAX_IN_FLIGHT || this.queue.length === 0) return
    const batch = this.queue.splice(0, MAX_CHANGES_PER_MESSAGE)
    for (const k of this.queueKeys.splice(0, batch.length)) this.keysQueued += k
    this.lastSentAt = now()
    this.sends.push([this.keysQueued, now()])
    this.inFlight++
    this.client.request('doc.applyChanges', { docId: this.docId, changes: batch }).then(
      () => {
        this.sentTotal += batch.length
        this.inFlight--
        if (this.queue.length || this.uncommittedKeys) this.kick()
        else if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w()
      },
      (err: Error) => {
        this.error = err
        this.inFlight--
        for (const w of this.idleWaiters.splice(0)) w()
      },
    )
  }

  /** Resolves when every local change is acknowledged as durable by the peer. */
  drain(): Promise<void> {
    if (this.error) return Promise.reject(this.error)
    if (this.queue.length === 0 && this.uncommittedKeys === 0 && this.inFlight === 0 && !this.scheduled) return Promise.resolve()
    return new Promise((resolve, reject) => this.idleWaiters.push(() => (this.error ? reject(this.error) : resolve())))
  }

  close(): void {
    this.off()
  }
}

/** When each of the `keys` keystrokes made after `base` were sent left in a request. */
export function sendTimesSince(r: GvReplica, base: number, keys: number): number[] {
  const out: number[] = []
  const sends = r.sends.filter(([upTo]) => upTo > base)
  let i = 0
  for (let k = 0; k < keys; k++) {
    while (i < sends.length && sends[i]![0] - base <= k) i++
    out.push(sends[i]?.[1] ?? NaN)
  }
  return out
}
