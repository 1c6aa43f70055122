/**
 * Remote changes, buffered per document and handed to `Documents`' write path in batches: applying
 * one change per call gets slow as history grows. A change after a quiet spell goes at once (on the
 * leading edge). One that comes sooner after the last batch's apply ended than that apply took (at
 * most `batchMs`) waits for the rest of that time, and goes with whatever came meanwhile: a cheap
 * apply is followed at once, a costly one leaves the thread free for as long as it took, up to
 * `batchMs`. (Until session 31 the wait was `batchMs` from each arrival: in a teammate's burst, a run
 * of keys every 10 ms or so, every run waited 16 ms at every receiver; and an apply longer than
 * `batchMs` was followed at once.) Also tracks the writes in flight, so a caller can wait until every
 * buffered change has been committed and applied (`settle`).
 *
 * A large change (a paste, a long text set at once: as large as change-read.ts reads by its header) is
 * applied alone, in a task of its own: Automerge takes hundreds of milliseconds for one of 32,768
 * characters, and a batch of ten kept a peer's event loop from its connections for over 4 s here (a
 * relay's traffic, pings: connections to it timed out and were closed). What comes for the document
 * after it waits its turn, so the document's changes are still applied in the order they came.
 */
import { InTurn } from '../in-turn.ts'
import type { Log } from '../log.ts'
import type { ListingStore } from '../store/types.ts'
import { DECODE_BELOW_BYTES } from './change-read.ts'
import type { ValidChange } from './change-validation.ts'

interface Pending {
  ws: string
  items: ValidChange[]
  /** Cancels the scheduled fire. */
  cancel: (() => void) | null
  done: Promise<void>
  fire: () => void
  /** Every change of the batch came live or by gossip: its commit may wait (`Documents`' `REMOTE_COMMIT_WITHIN_MS`). */
  soon: boolean
}

const BATCH_MAX = 1000
/** Changes that come within this long of the last apply's end go together, however cheap it was (a burst in one turn). */
const MIN_GAP_MS = 1

/** When a document's last batch was applied: its end (performance.now()) and how long the next waits after it. */
interface LastApply {
  end: number
  gap: number
}

export interface RemoteBatchComponents {
  store: Pick<ListingStore, 'documentWorkspace'>
  /** Commits and applies one batch of a document's changes (`Documents`' write path); `soon`: its commit may wait. */
  persist: (workspaceId: string, docId: string, changes: ValidChange[], soon: boolean) => Promise<unknown>
  /** The longest a remote change waits after the last apply ended, to be applied with what comes meanwhile. */
  batchMs: number
  /** Makes writes that may wait commit now (`settle` waits for them). */
  hurry: () => void
  log: Log
}

export class RemoteBatch {
  private readonly components: RemoteBatchComponents
  private readonly pending = new Map<string, Pending>()
  private readonly lastApply = new Map<string, LastApply>()
  private readonly inflight = new Set<Promise<unknown>>()
  /** Per document: large changes, and what came after them, being applied a task at a time. */
  private readonly inTasks = new InTurn()
  /** The workspace of each document that has had changes applied so (`fireWorkspace` waits for them). */
  private readonly inTasksWs = new Map<string, string>()

  constructor(components: RemoteBatchComponents) {
    this.components = components
  }

  /** Whether changes for the document are buffered, not handed to the write path yet. */
  has(docId: string): boolean {
    return this.pending.has(docId) || this.inTasks.busy(docId)
  }

  /**
   * Validated changes from a peer: buffered per document, then committed and applied together. `soon`:
   * they came live or by gossip, and nobody waits on their commit (catch-up does wait on its own).
   */
  ingest(workspaceId: string, docId: string, changes: ValidChange[], soon = false): Promise<void> {
    const { store, batchMs } = this.components
    const owner = store.documentWorkspace(docId)
    // A document id belongs to one workspace: changes signed for another are never mixed in.
    if (owner !== undefined && owner !== workspaceId) return Promise.resolve()
    let p = this.pending.get(docId)
    if (p && p.ws !== workspaceId) return Promise.resolve()
    if (this.inTasks.busy(docId) || changes.some(isLarge)) {
      // What was buffered before goes first.
      p?.fire()
      return this.applyInTasks(workspaceId, docId, changes, soon)
    }
    if (!p) {
      let resolve!: () => void
      const pend: Pending = {
        ws: workspaceId,
        items: [],
        cancel: null,
        done: new Promise<void>((r) => (resolve = r)),
        fire: () => {},
        soon,
      }
      pend.fire = () => {
        pend.cancel?.()
        pend.cancel = null
        if (this.pending.get(docId) !== pend) return
        this.pending.delete(docId)
        // The write path applies and shows before its first await: that part is what the next batch waits for.
        const started = performance.now()
        const persisted = this.components.persist(workspaceId, docId, pend.items, pend.soon)
        const end = performance.now()
        this.lastApply.set(docId, { end, gap: Math.min(batchMs, Math.max(MIN_GAP_MS, end - started)) })
        this.track(persisted)
          .catch((err: Error) => this.components.log('error', `applying ${pend.items.length} changes to ${docId} failed: ${err.message}`))
          .finally(resolve)
      }
      // Leading edge: a change after a quiet spell is applied as soon as the message that brought it
      // has been checked (before gossip forwards it: showing it here comes first); one that comes
      // while the last apply is recent waits for the rest of its gap (see the top of this file).
      const last = this.lastApply.get(docId)
      const wait = last ? last.end + last.gap - performance.now() : 0
      if (wait <= 0) queueMicrotask(pend.fire)
      else {
        const t = setTimeout(pend.fire, wait)
        pend.cancel = () => clearTimeout(t)
      }
      this.pending.set(docId, pend)
      p = pend
    }
    p.items.push(...changes)
    p.soon &&= soon
    if (p.items.length >= BATCH_MAX) p.fire()
    return p.done
  }

  /**
   * Hands `changes` to the write path in order, each large one alone, a task apart (see the top of this
   * file), after whatever is already being applied so for the document; resolves once all are committed.
   */
  private applyInTasks(ws: string, docId: string, changes: ValidChange[], soon: boolean): Promise<void> {
    const commits: Promise<unknown>[] = []
    this.inTasksWs.set(docId, ws)
    const applied = this.inTasks.run(docId, async () => {
      for (const part of parts(changes)) {
        await new Promise((resolve) => setImmediate(resolve))
        commits.push(
          this.track(this.components.persist(ws, docId, part, soon)).catch((err: Error) =>
            this.components.log('error', `applying ${part.length} changes to ${docId} failed: ${err.message}`),
          ),
        )
      }
    })
    return this.track(applied.then(() => Promise.all(commits))).then(() => {})
  }

  /** Hands every buffered batch of the workspace to the write path now; resolves once they are applied. */
  fireWorkspace(workspaceId: string): Promise<unknown> {
    const buffered = [...this.pending.values()].filter((p) => p.ws === workspaceId)
    for (const p of buffered) p.fire()
    const inTasks = [...this.inTasksWs].filter(([, ws]) => ws === workspaceId).map(([docId]) => this.inTasks.idle(docId))
    return Promise.all([...buffered.map((p) => p.done), ...inTasks])
  }

  /** Counts `promise` among the writes `settle` waits for; returns it. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise)
    promise.then(
      () => this.inflight.delete(promise),
      () => this.inflight.delete(promise),
    )
    return promise
  }

  /** Waits until every buffered remote change has been committed and applied. */
  async settle(): Promise<void> {
    while (this.pending.size > 0 || this.inflight.size > 0) {
      for (const p of [...this.pending.values()]) p.fire()
      if (this.inflight.size > 0) this.components.hurry()
      await Promise.allSettled([...this.inflight])
    }
  }
}

function isLarge(c: ValidChange): boolean {
  return (c.plain ?? c.bytes).byteLength >= DECODE_BELOW_BYTES
}

/** `changes` in order: each large one alone, the others between them together. */
function parts(changes: ValidChange[]): ValidChange[][] {
  const out: ValidChange[][] = []
  let small: ValidChange[] = []
  for (const c of changes) {
    if (!isLarge(c)) {
      small.push(c)
      continue
    }
    if (small.length) out.push(small)
    small = []
    out.push([c])
  }
  if (small.length) out.push(small)
  return out
}
