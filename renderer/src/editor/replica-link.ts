/**
 * The window's side of the editor's worker (replica-worker.ts): the worker itself, one per window,
 * and `EditorReplica`, what the editor and the document view hold of one open document. Its text is
 * CodeMirror's own: a keystroke changes the view at once and is posted to the worker, never waited
 * for; teammates' changes come from the worker as edits on the text (text-sync.ts keeps the two
 * equal while edits cross). Nothing here runs Automerge: the window's thread only paints.
 */
import { Annotation, type ChangeSet, EditorState, type Extension, type StateEffect, Text, Transaction } from '@codemirror/state'
import { EditorView, ViewPlugin } from '@codemirror/view'
import { GrapevineError } from '../../../shared/protocol.ts'
import type { Cursor } from '../../../shared/types.ts'
import { Emitter } from '../lib/emitter.ts'
import { errorCode } from '../lib/errors.ts'
import type { Selection } from './cursors.ts'
import { askForPorts, type EditorVia } from '../transport.ts'
import type { FromWorker, Placed, PlacedIn, ToWorker } from './replica-messages.ts'
import type { SinceMarks } from './since-marks.ts'
import { LINE } from './text-patches.ts'
import { TextSync } from './text-sync.ts'

interface ReplicaEvents {
  /** The title or the deleted flag changed. */
  head: []
  /** Teammates' changes were applied. */
  remote: []
  /** Local changes not yet durable at the peer. */
  unsent: [number]
  /** The document must be opened again (the peer refused a local change, or the copies parted). */
  rejected: [Error]
  /** The worker's session at the peer dropped and is back: open the document again (nothing typed is lost). */
  reopen: []
  /** The peer's sync status of the document changed. */
  sync: []
  /** This window's selection as Automerge cursors. */
  cursor: [Cursor | null]
}

/** What shows teammates' selections, placed in the view's text, in a transaction of the view (Editor.tsx). */
export type TeammatesEffects = (placed: Placed[]) => readonly StateEffect<unknown>[]

/** Marks transactions that carry the worker's edits (they are not sent back). */
const fromWorker = Annotation.define<boolean>()
/**
 * A window that only reads tells the worker every this many of its edits that it has them: the worker
 * keeps each of its edits until the window says so (to map the window's messages over).
 */
const ACK_EVERY = 32

type Opened = Extract<FromWorker, { t: 'opened' }>

export class EditorReplica {
  readonly docId: string
  private readonly rid: number
  private readonly post: (m: ToWorker) => void
  private doc: Text
  private titleText: string
  private isDeleted: boolean
  private marks: SinceMarks | null
  private readonly sync = new TextSync('window')
  private view: EditorView | null = null
  private readonly events = new Emitter<ReplicaEvents>()
  private pending = 0
  /** The worker's edits applied here since this window last told it how many it has. */
  private unacked = 0
  /** Transactions whose edits were posted to the worker (`send`): each is sent once, before or as the view applies it. */
  private readonly sent = new WeakSet<Transaction>()
  private closing: Promise<void> | null = null
  private onClosed: () => void = () => {}
  private teammatesEffects: TeammatesEffects | null = null

  constructor(rid: number, docId: string, opened: Opened, post: (m: ToWorker) => void) {
    this.rid = rid
    this.docId = docId
    this.post = post
    this.doc = Text.of(opened.text.split(LINE))
    this.titleText = opened.title
    this.isDeleted = opened.deleted
    this.marks = opened.since
  }

  /** The text now: a new view starts from it. */
  text(): Text {
    return this.doc
  }

  title(): string {
    return this.titleText
  }

  deleted(): boolean {
    return this.isDeleted
  }

  /** What changed since this device last read the document, in the text now (null: nothing). */
  since(): SinceMarks | null {
    return this.marks
  }

  /** Local changes not yet durable at the peer. */
  unsent(): number {
    return this.pending
  }

  listen<K extends keyof ReplicaEvents>(event: K, fn: (...args: ReplicaEvents[K]) => void): () => void {
    this.events.on(event, fn)
    return () => this.events.off(event, fn)
  }

  /**
   * Keeps an editor view of this replica in step with it: what is typed goes to the worker, and
   * teammates' changes go into the view. Its state must start from `text()`.
   */
  binding(): Extension {
    return [
      // Only '\n' breaks a line, as in the worker: positions count the same characters as Automerge's text.
      EditorState.lineSeparator.of(LINE),
      ViewPlugin.define((view) => {
        this.view = view
        return {
          destroy: () => {
            if (this.view === view) this.view = null
          },
        }
      }),
      EditorView.updateListener.of((u) => {
        if (!u.docChanged) return
        for (const tr of u.transactions) {
          if (!tr.docChanged) continue
          this.mapMarks(tr.changes)
          // Sent already if the view has `dispatch` as its `dispatchTransactions`; else now.
          this.send(tr)
        }
        this.doc = u.state.doc
      }),
    ]
  }

  /**
   * The editor view's `dispatchTransactions`: what is typed goes to the worker first, then the view
   * applies it. The keystroke then leaves the window before CodeMirror updates its DOM, its view state
   * and its plugins (about 0.7 ms of each typed key in W1b's page profile, session 35), not after.
   * If the view then fails to apply them, the worker has edits the view does not show: the document
   * is opened again ('rejected'), from the worker's text, which has them.
   */
  dispatch(trs: readonly Transaction[], view: EditorView): void {
    for (const tr of trs) this.send(tr)
    try {
      view.update(trs)
    } catch (err) {
      this.events.emit('rejected', new Error(`The editor could not apply an edit: ${(err as Error).message}`))
      throw err
    }
  }

  /** Posts a transaction's typed edits to the worker, once (a teammate's edit, from the worker, is not sent back). */
  private send(tr: Transaction): void {
    if (!tr.docChanged || tr.annotation(fromWorker) || this.sent.has(tr)) return
    this.sent.add(tr)
    this.post({ t: 'edit', rid: this.rid, edit: this.sync.local(tr.changes) })
    this.unacked = 0
  }

  /** Asks for the selection as Automerge cursors (answered with a 'cursor' event). */
  select(sel: Selection): void {
    this.post({ t: 'select', rid: this.rid, anchor: sel.anchor, head: sel.head, seen: this.sync.seen() })
    this.unacked = 0
  }

  /** The teammates whose selections to show ('teammates' events, again after every change). */
  setTeammates(cursors: { deviceId: string; cursor: Cursor }[]): void {
    this.post({ t: 'teammates', rid: this.rid, cursors })
  }

  /**
   * Teammates' selections, as the worker places them (after every change, and when `setTeammates` asks),
   * go into the view by `effects` until the returned function is called. A teammate's edit and their
   * selections after it go in one transaction: one editor update for a teammate's keystroke, not two.
   */
  showTeammates(effects: TeammatesEffects): () => void {
    this.teammatesEffects = effects
    return () => {
      if (this.teammatesEffects === effects) this.teammatesEffects = null
    }
  }

  /** Stops, once the worker has sent every local change to the peer and closed the document there. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.onClosed = resolve
      this.post({ t: 'close', rid: this.rid })
    })
    return this.closing
  }

  /** A message from the worker for this replica. */
  receive(m: FromWorker): void {
    if (m.t === 'remote') {
      if (m.edit) this.remoteEdit(m.edit, m.teammates)
      else if (m.teammates) this.placeTeammates(m.teammates)
      this.events.emit('remote')
    } else if (m.t === 'head') {
      this.titleText = m.title
      this.isDeleted = m.deleted
      this.events.emit('head')
    } else if (m.t === 'unsent') {
      this.sync.ack(m.seen)
      this.pending = m.n
      this.events.emit('unsent', m.n)
    } else if (m.t === 'rejected') this.events.emit('rejected', new Error(m.message))
    else if (m.t === 'reopen') this.events.emit('reopen')
    else if (m.t === 'sync') this.events.emit('sync')
    else if (m.t === 'cursor') this.events.emit('cursor', m.cursor)
    else if (m.t === 'teammates') this.placeTeammates(m)
    else if (m.t === 'closed') this.onClosed()
  }

  /** The teammates' selections the worker placed, as effects on a text of `length` here now (none without a view that shows them). */
  private teammatesIn(p: PlacedIn, length: number): readonly StateEffect<unknown>[] {
    return this.view && this.teammatesEffects ? this.teammatesEffects(placedHere(this.sync, p, length)) : []
  }

  private placeTeammates(p: PlacedIn): void {
    const effects = this.teammatesIn(p, this.doc.length)
    if (effects.length) this.view!.dispatch({ effects })
  }

  /** A teammate's edit from the worker, and their selections after it (placed in the text the edit leaves). */
  private remoteEdit(edit: { changes: unknown; seen: number }, teammates: PlacedIn | undefined): void {
    let cs: ChangeSet
    try {
      cs = this.sync.receive(edit, this.doc.length)
    } catch (err) {
      this.events.emit('rejected', new Error(`The editor lost track of the document: ${(err as Error).message}`))
      return
    }
    if (this.view) {
      this.view.dispatch({
        changes: cs,
        effects: teammates ? this.teammatesIn(teammates, cs.newLength) : [],
        annotations: [fromWorker.of(true), Transaction.remote.of(true), Transaction.addToHistory.of(false)],
        filter: false,
      })
    } else {
      this.mapMarks(cs)
      this.doc = cs.apply(this.doc)
    }
    if (++this.unacked >= ACK_EVERY) {
      this.unacked = 0
      this.post({ t: 'ack', rid: this.rid, seen: this.sync.seen() })
    }
  }

  private mapMarks(cs: ChangeSet): void {
    const m = this.marks
    if (!m) return
    this.marks = {
      inserted: m.inserted.map(([from, to]) => [cs.mapPos(from, 1), cs.mapPos(to, -1)]),
      deletedAt: m.deletedAt.map((at) => cs.mapPos(at)),
    }
  }
}

/**
 * Teammates' selections the worker placed (when it had applied `p.seen` of this window's edits), in this
 * window's text now, of `length`: moved over the edits the worker had not seen yet; one past the end is left out.
 */
export function placedHere(sync: TextSync, p: PlacedIn, length: number): Placed[] {
  const out: Placed[] = []
  for (const { deviceId, anchor, head } of p.placed) {
    const a = sync.mapPos(anchor, p.seen)
    const h = sync.mapPos(head, p.seen)
    if (a <= length && h <= length) out.push({ deviceId, anchor: a, head: h })
  }
  return out
}

/** The window's editor worker: started with the editor's code, and kept for the window's life. */
export class EditorWorker {
  private readonly worker: Worker
  private via: EditorVia | null = null
  private nextRid = 1
  private readonly handlers = new Map<number, (m: FromWorker) => void>()
  private failure: Error | null = null
  /** The worker's code loaded and runs (an error before that means it never will). */
  private started = false

  constructor() {
    this.worker = new Worker(new URL('./replica-worker.ts', import.meta.url), { type: 'module', name: 'grapevine-editor' })
    this.worker.addEventListener('message', (e: MessageEvent<FromWorker>) => {
      if (e.data.t === 'ready') this.started = true
      // The worker's port closed alone (Electron): fresh ports for the window and the worker, which the
      // connection takes as a new generation (connection.ts).
      else if (e.data.t === 'port-lost') askForPorts(window)
      else this.handlers.get(e.data.rid)?.(e.data)
    })
    this.worker.addEventListener('error', (e) => {
      if (this.started) return console.error('the editor worker failed', e.message)
      this.failure = new Error(`The editor could not start: ${e.message || 'its worker did not load'}.`)
      console.error(this.failure)
      for (const [rid, h] of [...this.handlers]) h({ t: 'failed', rid, code: null, message: this.failure.message })
    })
  }

  /**
   * Opens `docId` in the worker over `via` (this window's current connection; a new one is handed
   * to the worker first). `onLoading` is told the size of a large document while it loads.
   */
  open(via: EditorVia, docId: string, onLoading?: (bytes: number) => void): Promise<EditorReplica> {
    if (this.failure) return Promise.reject(this.failure)
    if (via !== this.via) {
      this.via = via
      if ('port' in via) this.worker.postMessage({ t: 'connect', via } satisfies ToWorker, [via.port])
      else this.worker.postMessage({ t: 'connect', via } satisfies ToWorker)
    }
    const rid = this.nextRid++
    const post = (m: ToWorker): void => this.worker.postMessage(m)
    return new Promise<EditorReplica>((resolve, reject) => {
      let replica: EditorReplica | null = null
      this.handlers.set(rid, (m) => {
        if (replica) {
          replica.receive(m)
          if (m.t === 'closed') this.handlers.delete(rid)
        } else if (m.t === 'loading') onLoading?.(m.bytes)
        else if (m.t === 'opened') {
          replica = new EditorReplica(rid, docId, m, post)
          resolve(replica)
        } else if (m.t === 'failed') {
          this.handlers.delete(rid)
          reject(openError(m.code, m.message))
        }
      })
      post({ t: 'open', rid, docId })
    })
  }
}

/** The error of a failed open, with the peer's code kept (so the view words it as it would the request's). */
function openError(code: string | null, message: string): Error {
  const known = errorCode({ code })
  return known ? new GrapevineError(known, message) : new Error(message)
}

let shared: EditorWorker | null = null

/** The window's editor worker (started on first use). */
export function editorWorker(): EditorWorker {
  shared ??= new EditorWorker()
  return shared
}
