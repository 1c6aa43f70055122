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
  /** Every document noted in the store (read at the first question: a listing asks for each of its documents). */
  private known: Map<string, DocKind> | null = null
  private readonly store: Durable & MetaStore
  private readonly log: Log

  constructor(store: Durable & MetaStore, log: Log) {
    this.store = store
    this.log = log
  }

  kindOf(docId: string): DocKind {
    return this.noted().get(docId) ?? 'text'
  }

  private noted(): Map<string, DocKind> {
    if (this.known === null) {
      this.known = new Map()
      for (const [k, v] of this.store.metaWithPrefix(key('')))
        this.known.set(k.slice(key('').length), v.toString() === 'board' ? 'board' : 'text')
    }
    return this.known
  }

  /** The document is of `kind` now; written with the next commit if that is news. */
  note(docId: string, kind: DocKind): void {
    const was = this.kindOf(docId)
    if (was === kind) return
    const known = this.noted()
    known.set(docId, kind)
    void this.store
      .write(() => this.store.setMeta(key(docId), kind))
      .catch((err: Error) => {
        // The store still says what it said: so does the cache, until the document's next change or load.
        if (known.get(docId) === kind) known.set(docId, was)
        this.log('warn', `noting the kind of ${docId}: ${err.message}`)
      })
  }
}
