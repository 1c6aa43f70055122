/**
 * For tests of the editor's worker: a window as EditorReplica keeps it (its text and its half of
 * text-sync), without a DOM, joined to a real `ReplicaHost` by two ordered queues that deliver in
 * later turns (as postMessage does). Like DocView, it closes a document and opens it again when the
 * worker says its session was dialled again. Connect `host` to a session before opening.
 */
import { ChangeSet, Text } from '@codemirror/state'
import type { Cursor } from '../../../shared/types.ts'
import { ReplicaHost } from '../editor/replica-host.ts'
import { placedHere } from '../editor/replica-link.ts'
import type { FromWorker, Placed, ToWorker } from '../editor/replica-messages.ts'
import { TextSync } from '../editor/text-sync.ts'

export function testWindow() {
  const w = {
    /** Every message from the worker, for the replicas this window opened (old ones included). */
    got: [] as FromWorker[],
    /** The replica shown now (a new one each time the document is opened). */
    rid: 0,
    docId: '',
    opened: false,
    doc: Text.empty as Text,
    sync: new TextSync('window'),
    title: '',
    cursor: undefined as Cursor | null | undefined,
    placed: null as Placed[] | null,
    /** Why the last open failed, if it did. */
    failed: null as Extract<FromWorker, { t: 'failed' }> | null,
  }
  const send = (m: ToWorker): void => void setImmediate(() => host.handle(m))
  /** Waiters for a message from the worker, checked as each comes. */
  const waiters: { done: (m: FromWorker) => boolean; resolve: () => void }[] = []
  /** Resolves when the worker sends a message `done` accepts, or rejects after `ms`. */
  const until = (what: string, done: (m: FromWorker) => boolean, ms: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
      waiters.push({
        done,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      })
    })
  const openNow = (docId: string): void => {
    w.rid++
    w.docId = docId
    w.opened = false
    w.failed = null
    w.sync = new TextSync('window')
    send({ t: 'open', rid: w.rid, docId })
  }
  const host = new ReplicaHost(
    (m) =>
      void setImmediate(() => {
        w.got.push(m)
        for (const x of waiters.filter((x) => x.done(m))) {
          waiters.splice(waiters.indexOf(x), 1)
          x.resolve()
        }
        // A closed replica's last messages: the window has let go of it.
        if (m.rid !== w.rid) return
        const { sync } = w
        if (m.t === 'opened') {
          w.doc = Text.of(m.text.split('\n'))
          w.opened = true
        } else if (m.t === 'failed') w.failed = m
        else if (m.t === 'remote') {
          if (m.edit) w.doc = sync.receive(m.edit, w.doc.length).apply(w.doc)
          if (m.teammates) w.placed = placedHere(sync, m.teammates, w.doc.length)
        } else if (m.t === 'head') w.title = m.title
        else if (m.t === 'unsent') sync.ack(m.seen)
        else if (m.t === 'cursor') w.cursor = m.cursor
        else if (m.t === 'teammates') w.placed = placedHere(sync, m, w.doc.length)
        else if (m.t === 'reopen') {
          send({ t: 'close', rid: w.rid })
          openNow(w.docId)
        }
      }),
    (fn) => void setTimeout(fn, 8),
  )
  return {
    w,
    host,
    /** Opens `docId` and waits until it is open; throws if it failed. */
    open: async (docId: string, ms = 5000) => {
      openNow(docId)
      const rid = w.rid
      await until('the document to open', (m) => m.rid === rid && (m.t === 'opened' || m.t === 'failed'), ms)
      if (w.failed) throw new Error(JSON.stringify(w.failed))
    },
    type: (spec: { from: number; to?: number; insert?: string }) => {
      if (!w.opened) throw new Error('typing into a window whose document is not open')
      const cs = ChangeSet.of(spec, w.doc.length, '\n')
      w.doc = cs.apply(w.doc)
      send({ t: 'edit', rid: w.rid, edit: w.sync.local(cs) })
    },
    select: (anchor: number, head: number) => send({ t: 'select', rid: w.rid, anchor, head, seen: w.sync.seen() }),
    teammates: (cursors: { deviceId: string; cursor: Cursor }[]) => send({ t: 'teammates', rid: w.rid, cursors }),
    close: async () => {
      const rid = w.rid
      const closed = until('the document to close', (m) => m.t === 'closed' && m.rid === rid, 5000)
      send({ t: 'close', rid })
      await closed
    },
  }
}
