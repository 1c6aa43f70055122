/**
 * One document's sync status (`doc.syncStatus`), asked once for every part of the window that shows it
 * (the status line, the teammates panel) and at most once a second while it keeps changing.
 *
 * The peer tells the window `doc.sync` whenever the document's heads or a teammate's known heads move: on
 * every keystroke while someone types (paced to 4 a second). Each part asking on its own doubled the
 * requests, and each status is work in the peer (which of your edits each teammate lacks): in W1b, 0.8
 * requests per keystroke, 8% of a peer's busy time. A status after a quiet second is asked at once; while
 * changes keep coming the next is asked a second after the last began, so the last state is always shown.
 */
import type { ClientEvent, PeerClient } from '../../../shared/protocol.ts'
import type { DocSyncStatus } from '../../../shared/types.ts'

export type StatusClient = Pick<PeerClient, 'request' | 'onEvent'>

/** Least time between the starts of two requests for one document. */
export const MIN_GAP_MS = 1000
/** Asked again this often even with no event (teammates' "last seen", online). */
export const EVERY_MS = 4000

export interface SyncStatusState {
  data: DocSyncStatus | undefined
  error: unknown
}

interface Timers {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (t: unknown) => void
}

const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
}

/** The status of one document for the window's subscribers: asked when the first subscribes, dropped with the last. */
export class SyncStatusSource {
  state: SyncStatusState = { data: undefined, error: null }
  private readonly listeners = new Set<(s: SyncStatusState) => void>()
  private inFlight = false
  private again = false
  /** When the last request began (`timers.now`), or -Infinity. */
  private lastStart = Number.NEGATIVE_INFINITY
  private timer: unknown = null
  private pollTimer: unknown = null
  private off: (() => void) | null = null
  private closed = false
  /** Bumped when the last subscriber leaves: an answer to a request from before is not this subscription's. */
  private generation = 0

  private readonly client: StatusClient
  readonly docId: string
  private readonly timers: Timers

  constructor(client: StatusClient, docId: string, timers: Timers = realTimers) {
    this.client = client
    this.docId = docId
    this.timers = timers
  }

  subscribe(listener: (s: SyncStatusState) => void): () => void {
    this.listeners.add(listener)
    if (this.listeners.size === 1) this.start()
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.stop()
    }
  }

  /** Asks again: at once after a quiet second, else a second after the last request began (several calls, one request). */
  refresh(): void {
    if (this.closed) return
    if (this.inFlight) {
      this.again = true
      return
    }
    if (this.timer !== null) return
    const wait = this.lastStart + MIN_GAP_MS - this.timers.now()
    if (wait <= 0) {
      this.ask()
      return
    }
    this.timer = this.timers.setTimeout(() => {
      this.timer = null
      this.ask()
    }, wait)
  }

  private start(): void {
    this.closed = false
    this.off = this.client.onEvent((e: ClientEvent) => {
      if ((e.type === 'doc.sync' && e.docId === this.docId) || e.type === 'peer.list') this.refresh()
    })
    this.ask()
  }

  private stop(): void {
    this.closed = true
    this.generation++
    this.inFlight = false
    this.off?.()
    this.off = null
    if (this.timer !== null) this.timers.clearTimeout(this.timer)
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer)
    this.timer = null
    this.pollTimer = null
    this.again = false
  }

  private ask(): void {
    if (this.closed) return
    this.inFlight = true
    this.lastStart = this.timers.now()
    const g = this.generation
    this.client.request('doc.syncStatus', { docId: this.docId }).then(
      (data) => g === this.generation && this.settle({ data, error: null }),
      (error: unknown) => g === this.generation && this.settle({ data: this.state.data, error }),
    )
    // The next regular look, whatever happens meanwhile.
    this.schedulePoll()
  }

  private schedulePoll(): void {
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer)
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = null
      if (!this.closed) this.refresh()
    }, EVERY_MS)
  }

  private settle(s: SyncStatusState): void {
    this.inFlight = false
    this.state = s
    for (const l of this.listeners) l(s)
    if (this.again) {
      this.again = false
      this.refresh()
    }
  }
}
