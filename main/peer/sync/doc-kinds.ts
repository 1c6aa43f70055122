/**
 * Which documents are boards, without loading them: `doc.list` says each document's kind, and "my
 * tasks" reads only the boards. Kept in the meta table (`doc-kind:<id>`, boards only: a document
 * without an entry is text), noted whenever a document is made or applied here. A cache of the
 * documents' own `kind`, like the listing row: a kind noted late (a crash before its write) is noted
 * again at the document's next change or load.
 */
import type { DocKind } from '../../../shared/board.ts'
import type { Durable, MetaStore } from '../store/types.ts'
import type { Log } from '../log.ts'

const key = (docId: string): string => `doc-kind:${docId}`

export class DocKinds {
  private readonly known = new Map<string, DocKind>()
  private readonly store: Durable & MetaStore
  private readonly log: Log

  constructor(store: Durable & MetaStore, log: Log) {
    this.store = store
    this.log = log
  }

  kindOf(docId: string): DocKind {
    let kind = this.known.get(docId)
    if (kind === undefined) {
      kind = this.store.getMeta(key(docId))?.toString() === 'board' ? 'board' : 'text'
      this.known.set(docId, kind)
    }
    return kind
  }

  /** The document is of `kind` now; written with the next commit if that is news. */
  note(docId: string, kind: DocKind): void {
    if (this.kindOf(docId) === kind) return
    this.known.set(docId, kind)
    void this.store
      .write(() => this.store.setMeta(key(docId), kind))
      .catch((err: Error) => {
        this.known.delete(docId)
        this.log('warn', `noting the kind of ${docId}: ${err.message}`)
      })
  }
}
