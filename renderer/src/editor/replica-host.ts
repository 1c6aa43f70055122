/**
 * The editor's worker, apart from its entry (replica-worker.ts): the replicas of the documents the
 * window has open, on the worker's own session at the peer, each kept equal to its editor's text
 * (text-sync.ts). The window sends what is typed; the worker makes it an Automerge change and sends
 * it to the peer, applies teammates' changes and sends the window what they did to the text, and
 * answers in Automerge's terms what the window cannot (cursors, what changed since last read).
 */
import type * as A from '@automerge/automerge'
import type { ChangeSet } from '@codemirror/state'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { Cursor } from '../../../shared/types.ts'
import { errorCode } from '../lib/errors.ts'
import { fromCursors, toCursors } from './cursors.ts'
import { DocReplica, type Scheduler } from './replica.ts'
import type { FromWorker, Placed, PlacedIn, ToWorker } from './replica-messages.ts'
import { changedSince } from './since-marks.ts'
import { textChanges } from './text-patches.ts'
import { type SyncEdit, TextSync } from './text-sync.ts'

type Client = Pick<PeerClient, 'request' | 'onEvent'>

/** Above this many bytes, the window is told a document is loading (it shows the cached text meanwhile). */
const HEAVY_BYTES = 64 * 1024

interface Open {
  rid: number
  docId: string
  replica: DocReplica
  sync: TextSync
  /** The text as the window was last brought to it (the replica's, after the last edit either way). */
  text: string
  head: string
  teammates: { deviceId: string; cursor: Cursor }[]
  offs: (() => void)[]
}

export class ReplicaHost {
  private readonly post: (m: FromWorker) => void
  private readonly schedule: Scheduler
  private readonly now: (() => number) | undefined
  private client: Client | null = null
  private offEvents: () => void = () => {}
  private readonly waiting: { go: (c: Client) => void; fail: (e: Error) => void }[] = []
  /** Why the current connection could not be made (opens fail with it until the next). */
  private failure: Error | null = null
  private readonly opens = new Map<number, Open>()
  /** A document's last replica closing: the next open of it waits, so the peer sees close before open. */
  private readonly closing = new Map<string, Promise<void>>()

  constructor(post: (m: FromWorker) => void, schedule: Scheduler, now?: () => number) {
    this.post = post
    this.schedule = schedule
    this.now = now
  }

  /** The session for the window's current connection; opens that waited for one go on. */
  connect(client: Client): void {
    this.offEvents()
    this.client = client
    this.failure = null
    this.offEvents = client.onEvent((e) => {
      if (e.type !== 'doc.sync') return
      for (const o of this.opens.values()) if (o.docId === e.docId) this.post({ t: 'sync', rid: o.rid })
    })
    for (const w of this.waiting.splice(0)) w.go(client)
  }

  /** The window's current connection could not be made here: opens fail until the next one. */
  connectFailed(err: Error): void {
    this.offEvents()
    this.offEvents = () => {}
    this.client = null
    this.failure = err
    for (const w of this.waiting.splice(0)) w.fail(err)
  }

  /**
   * The session dropped while it was current. The open documents stay as they are: what is typed
   * meanwhile is kept for the replica that opens each next (replica.ts). Opens wait for the next
   * session, or fail with `failure` when none will come by itself.
   */
  disconnected(failure: Error | null): void {
    this.offEvents()
    this.offEvents = () => {}
    this.client = null
    this.failure = failure
    if (failure) for (const w of this.waiting.splice(0)) w.fail(failure)
  }

  /**
   * A new session after one dropped, the window's connection unchanged: each open document is told
   * (`reopen`), and the window opens it again on this session, which sends what was kept meanwhile.
   */
  reconnected(client: Client): void {
    this.connect(client)
    for (const o of this.opens.values()) this.post({ t: 'reopen', rid: o.rid })
  }

  /** The session, once the window has connected the worker. */
  private session(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client)
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((go, fail) => this.waiting.push({ go, fail }))
  }

  handle(m: ToWorker): void {
    if (m.t === 'connect') return
    if (m.t === 'open') {
      void this.open(m.rid, m.docId)
      return
    }
    if (m.t === 'close') {
      void this.close(m.rid)
      return
    }
    const o = this.opens.get(m.rid)
    if (!o) return
    if (m.t === 'edit') this.edit(o, m.edit)
    else if (m.t === 'ack') this.acknowledged(o, m.seen)
    else if (m.t === 'select') this.select(o, m.anchor, m.head, m.seen)
    else {
      o.teammates = m.cursors
      this.post({ t: 'teammates', rid: o.rid, ...this.placed(o) })
    }
  }

  /** Opens `docId` for the window; it closes a replica only once it was told it opened. */
  private async open(rid: number, docId: string): Promise<void> {
    try {
      await this.closing.get(docId)
      const client = await this.session()
      const beforeLoad = async (bytes: number): Promise<void> => {
        if (bytes >= HEAVY_BYTES) this.post({ t: 'loading', rid, bytes })
      }
      const replica = await DocReplica.open(client, docId, this.schedule, beforeLoad, this.now)
      const text = replica.text()
      const o: Open = { rid, docId, replica, sync: new TextSync('worker'), text, head: headOf(replica), teammates: [], offs: [] }
      o.offs.push(
        replica.listen('remote', (patches) => this.remote(o, patches)),
        replica.listen('unsent', (n) => this.post({ t: 'unsent', rid, n, seen: o.sync.seen() })),
        replica.listen('rejected', (err) => this.post({ t: 'rejected', rid, message: err.message })),
      )
      this.opens.set(rid, o)
      const doc = replica.doc()
      this.post({
        t: 'opened',
        rid,
        text,
        title: replica.title(),
        deleted: doc.deleted === true,
        since: changedSince(doc, replica.readHeads),
      })
      if (replica.unsent() > 0) this.post({ t: 'unsent', rid, n: replica.unsent(), seen: 0 })
    } catch (err) {
      this.post({ t: 'failed', rid, code: errorCode(err), message: err instanceof Error ? err.message : String(err) })
    }
  }

  private async close(rid: number): Promise<void> {
    const o = this.opens.get(rid)
    if (!o) return this.post({ t: 'closed', rid })
    this.opens.delete(rid)
    for (const off of o.offs) off()
    const done = o.replica.close()
    const settled = done.catch(() => {})
    this.closing.set(o.docId, settled)
    await settled
    if (this.closing.get(o.docId) === settled) this.closing.delete(o.docId)
    this.post({ t: 'closed', rid })
  }

  /** What the window typed, made an Automerge change on the text as it is here. */
  private edit(o: Open, edit: { changes: unknown; seen: number }): void {
    let cs: ChangeSet
    try {
      cs = o.sync.receive(edit, o.text.length)
    } catch (err) {
      // The window's text and this one have parted (a bug): reopen rather than write a wrong edit.
      this.post({ t: 'rejected', rid: o.rid, message: `The editor lost track of the document: ${(err as Error).message}` })
      return
    }
    const splices: [number, number, string][] = []
    cs.iterChanges((fromA, toA, _fromB, _toB, inserted) => void splices.push([fromA, toA - fromA, inserted.toString()]))
    // Last first: each splice leaves the positions before it as they were.
    splices.reverse()
    o.replica.spliceText(splices)
    // The window's text now (the replica's too, unless it refused the edit: then the window reopens).
    let text = o.text
    for (const [at, del, ins] of splices) text = text.slice(0, at) + ins + text.slice(at + del)
    o.text = text
  }

  /**
   * Teammates' changes were applied: the window gets their title first if it changed, then, in one message,
   * what they did to the text and where the teammates' selections are now.
   */
  private remote(o: Open, patches: A.Patch[]): void {
    const after = o.replica.text()
    let edit: SyncEdit | undefined
    if (after !== o.text) {
      const cs = textChanges(patches, o.text, after)
      o.text = after
      if (!cs.empty) edit = o.sync.local(cs)
    }
    const head = headOf(o.replica)
    if (head !== o.head) {
      o.head = head
      this.post({ t: 'head', rid: o.rid, title: o.replica.title(), deleted: o.replica.doc().deleted === true })
    }
    this.post({
      t: 'remote',
      rid: o.rid,
      ...(edit ? { edit } : {}),
      ...(o.teammates.length ? { teammates: this.placed(o) } : {}),
    })
  }

  private acknowledged(o: Open, seen: number): void {
    try {
      o.sync.ack(seen)
    } catch (err) {
      this.post({ t: 'rejected', rid: o.rid, message: `The editor lost track of the document: ${(err as Error).message}` })
    }
  }

  private select(o: Open, anchor: number, head: number, seen: number): void {
    let cursor: Cursor | null = null
    try {
      const sel = { anchor: o.sync.mapPos(anchor, seen), head: o.sync.mapPos(head, seen) }
      // The text's length here is the replica's (`o.text` follows both sides' edits); the document
      // is read by path only, so its view need not be brought up to date with the typing first.
      cursor = toCursors(o.replica.docForCursors(), sel, o.text.length)
    } catch {
      cursor = null
    }
    this.post({ t: 'cursor', rid: o.rid, cursor })
  }

  /** The teammates' selections the window asked for, in the text here now. */
  private placed(o: Open): PlacedIn {
    const placed: Placed[] = []
    const doc = o.replica.doc()
    for (const t of o.teammates) {
      const at = fromCursors(doc, t.cursor)
      if (at) placed.push({ deviceId: t.deviceId, ...at })
    }
    return { seen: o.sync.seen(), placed }
  }
}

function headOf(r: DocReplica): string {
  return `${r.doc().deleted === true}\u0000${r.title()}`
}
