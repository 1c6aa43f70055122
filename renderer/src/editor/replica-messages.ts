/**
 * The messages between the window and the editor's worker (replica-worker.ts). Both ends are this
 * page's own code, on one ordered channel; `rid` names one opened replica (a document may be opened
 * again before its last replica has closed).
 */
import type { Cursor } from '../../../shared/types.ts'
import type { EditorVia } from '../transport.ts'
import type { SinceMarks } from './since-marks.ts'
import type { SyncEdit } from './text-sync.ts'

/** A teammate's selection, resolved in one side's text. */
export interface Placed {
  deviceId: string
  anchor: number
  head: number
}

/** Teammates' selections in the worker's text, when it had applied `seen` of the window's edits. */
export interface PlacedIn {
  seen: number
  placed: Placed[]
}

export type ToWorker =
  /** A new connection (the window's generation): the worker's session follows it. */
  | { t: 'connect'; via: EditorVia }
  | { t: 'open'; rid: number; docId: string }
  /** An edit typed in the window. */
  | { t: 'edit'; rid: number; edit: SyncEdit }
  /** The window's selection moved (positions in its text when it had applied `seen` of the worker's edits). */
  | { t: 'select'; rid: number; anchor: number; head: number; seen: number }
  /** Teammates' selections to show (resolved again after every change). */
  | { t: 'teammates'; rid: number; cursors: { deviceId: string; cursor: Cursor }[] }
  /** The window has applied `seen` of the worker's edits (sent now and then by a window that only reads). */
  | { t: 'ack'; rid: number; seen: number }
  | { t: 'close'; rid: number }

export type FromWorker =
  /** The worker's code runs (sent once, first). */
  | { t: 'ready'; rid: 0 }
  /** Its MessagePort to the peer closed while the window's did not (Electron): the window asks for fresh ports. */
  | { t: 'port-lost'; rid: 0 }
  /** A large document is loading (its size in bytes): the window may show a preview. */
  | { t: 'loading'; rid: number; bytes: number }
  | { t: 'opened'; rid: number; text: string; title: string; deleted: boolean; since: SinceMarks | null }
  | { t: 'failed'; rid: number; code: string | null; message: string }
  | { t: 'head'; rid: number; title: string; deleted: boolean }
  /**
   * Teammates' changes were applied (their title's, if it changed, came just before): what they did to the
   * text, if anything, and the teammates' selections placed again after them. One message, so that the
   * window shows both in one editor update (a teammate's keystroke moves their caret too).
   */
  | { t: 'remote'; rid: number; edit?: SyncEdit; teammates?: PlacedIn }
  /** Local changes not yet durable at the peer; `seen`: the window's edits the worker has applied (an acknowledgement). */
  | { t: 'unsent'; rid: number; n: number; seen: number }
  /** The peer refused a local change, or a teammate's did not apply: the window reopens the document. */
  | { t: 'rejected'; rid: number; message: string }
  /** The window's selection as Automerge cursors (for presence). */
  | { t: 'cursor'; rid: number; cursor: Cursor | null }
  /** Teammates' selections in the worker's text. */
  | ({ t: 'teammates'; rid: number } & PlacedIn)
  /** The worker's session at the peer dropped and was dialled again: the window opens the document again on it. */
  | { t: 'reopen'; rid: number }
  /** The document's sync status changed at the peer (`doc.sync`). */
  | { t: 'sync'; rid: number }
  | { t: 'closed'; rid: number }
