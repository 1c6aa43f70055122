/**
 * A client replica of one Grapevine document, as the renderer keeps one (renderer/src/editor/replica.ts):
 * one Automerge change per keystroke, applied locally at once; change bytes sent with
 * `doc.applyChanges`, up to 4 requests in flight (in order, not waiting for answers): after a quiet
 * frame a change leaves at once, in a fast run of keys at most once per frame (`quietMs`, 60 Hz). Remote changes (`doc.changes` events)
 * are applied as the renderer applies them: after a quiet frame at once, else together at the next frame (with `frameMs` 0: together
 * with whatever else arrived in the same turn of the event loop). Automerge 3 applies a batch in about the time of one change, and that
 * time grows with the text's length. Records when each request was sent, to split latency into frame wait and the rest.
 */
import * as A from '@automerge/automerge'
import type { DocContent } from '../../shared/doc-content.ts'
import type { PeerClient } from '../../shared/protocol.ts'
import { MAX_CHANGES_PER_MESSAGE } from '../../shared/limits.ts'
import { now } from './stats.ts'
import type { TextPeer } from './text-peer.ts'

/** As the renderer sends (renderer/src/editor/replica.ts `QUIET_MS`): a send at most once per frame, the first at once. */
const FRAME_MS = 1000 / 60
/** As the renderer (replica.ts `MAX_IN_FLIGHT`). */
const MAX_IN_FLIGHT = 4
/** As the renderer (replica.ts): an apply that took c ms is followed by the next no sooner than (1 + 3)·c after its start, 250 ms at most. */
const APPLY_SPACING = 3
const MAX_APPLY_GAP_MS = 250

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
  /** Changes in the requests in flight. */
  private inFlightChanges = 0
  /** Teammates' changes not applied yet, and when some were last applied. */
  private remoteQueue: Uint8Array[] = []
  private remoteScheduled = false
  private lastRemoteAt = Number.NEGATIVE_INFINITY
  private lastRemoteCost = 0
  error: Error | null = null

  private constructor(client: PeerClient, docId: string, doc: A.Doc<DocContent>, frameMs: number, off: () => void) {
    this.client = client
    this.docId = docId
    this.doc = doc
    this.frameMs = frameMs
    this.off = off
  }

  /** `frameMs` 0 sends every change at once (no frame batching); > 0: the renderer's policy with that frame. */
  static async open(client: PeerClient, docId: string, frameMs = FRAME_MS): Promise<GvReplica> {
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
    // As the renderer: never sooner after the last apply's start than its cost allows (replica.ts `APPLY_SPACING`).
    const gap = Math.min(MAX_APPLY_GAP_MS, (1 + APPLY_SPACING) * this.lastRemoteCost)
    const wait = this.lastRemoteAt + Math.max(this.frameMs, gap) - now()
    if (this.frameMs > 0 && wait <= 0) {
      this.applyRemote()
      return
    }
    this.remoteScheduled = true
    const go = (): void => {
      this.remoteScheduled = false
      this.applyRemote()
    }
    if (wait > 0) setTimeout(go, wait)
    else setImmediate(go)
  }

  private applyRemote(): void {
    if (this.remoteQueue.length === 0) return
    const started = now()
    this.lastRemoteAt = started
    ;[this.doc] = A.applyChanges(this.doc, this.remoteQueue.splice(0))
    for (const l of this.listeners) l()
    this.lastRemoteCost = now() - started
  }

  splice(pos: number, del: number, text: string): void {
    this.doc = A.change(this.doc, (d) => {
      A.splice(d, ['text'], pos, del, text)
    })
    const bytes = A.getLastLocalChange(this.doc)
    if (bytes) this.enqueue(bytes)
  }

  frame(fn: (splice: (pos: number, del: number, text: string) => void) => void): void {
    this.doc = A.change(this.doc, (d) =>
      fn((pos, del, text) => {
        A.splice(d, ['text'], pos, del, text)
      }),
    )
    const bytes = A.getLastLocalChange(this.doc)
    if (bytes) this.enqueue(bytes)
  }

  length(): number {
    return typeof this.doc.text === 'string' ? this.doc.text.length : 0
  }

  text(): string {
    return typeof this.doc.text === 'string' ? this.doc.text : ''
  }

  onRemote(cb: () => void): void {
    this.listeners.push(cb)
  }

  /** Local changes queued or in flight. */
  unsent(): number {
    return this.queuedTotal - this.sentTotal
  }

  private enqueue(bytes: Uint8Array): void {
    this.queue.push(bytes)
    this.queuedTotal++
    this.kick()
  }

  private kick(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.queue.length === 0) return
    this.scheduled = true
    const go = (): void => {
      this.scheduled = false
      this.flush()
    }
    const wait = this.lastSentAt + this.frameMs - now()
    if (wait <= 0) queueMicrotask(go)
    else setTimeout(go, wait)
  }

  private flush(): void {
    if (this.inFlight >= MAX_IN_FLIGHT || this.queue.length === 0) return
    const batch = this.queue.splice(0, MAX_CHANGES_PER_MESSAGE)
    this.lastSentAt = now()
    this.sends.push([this.sentTotal + this.inFlightChanges + batch.length, now()])
    this.inFlight++
    this.inFlightChanges += batch.length
    this.client.request('doc.applyChanges', { docId: this.docId, changes: batch }).then(
      () => {
        this.sentTotal += batch.length
        this.inFlight--
        this.inFlightChanges -= batch.length
        if (this.queue.length) this.kick()
        else if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w()
      },
      (err: Error) => {
        this.error = err
        this.inFlight--
        this.inFlightChanges -= batch.length
        for (const w of this.idleWaiters.splice(0)) w()
      },
    )
  }

  /** Resolves when every local change is acknowledged as durable by the peer. */
  drain(): Promise<void> {
    if (this.error) return Promise.reject(this.error)
    if (this.queue.length === 0 && this.inFlight === 0 && !this.scheduled) return Promise.resolve()
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
