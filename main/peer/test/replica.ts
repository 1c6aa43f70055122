/**
 * A client-side replica of one document, the way the renderer keeps one: its own Automerge copy,
 * local edits sent as change bytes, remote changes applied from `doc.changes` events.
 */
import * as A from '@automerge/automerge'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { DocContent } from '../../../shared/doc-content.ts'

export interface Replica {
  readonly doc: A.Doc<DocContent>
  text(): string
  /** Makes a local change and resolves when the peer says it is durable. */
  edit(fn: (d: DocContent) => void): Promise<void>
  /** Makes one local change per function and sends them in one request, as a window does with keys typed within a frame. */
  burst(fns: ((d: DocContent) => void)[]): Promise<void>
  /** Resolves when `check` holds on the replica (checked after every remote change). */
  until(check: (doc: A.Doc<DocContent>) => boolean, timeoutMs?: number): Promise<number>
  close(): void
}

export async function openReplica(client: PeerClient, docId: string): Promise<Replica> {
  const opened = await client.request('doc.open', { docId })
  let doc = A.load<DocContent>(opened.bytes, { actor: opened.actor })
  const waiters = new Set<() => void>()
  const off = client.onEvent((e) => {
    if (e.type !== 'doc.changes' || e.docId !== docId) return
    ;[doc] = A.applyChanges(doc, e.changes)
    for (const w of [...waiters]) w()
  })
  return {
    get doc() {
      return doc
    },
    text: () => String(doc.text ?? ''),
    async edit(fn) {
      doc = A.change(doc, fn)
      const change = A.getLastLocalChange(doc)
      if (change) await client.request('doc.applyChanges', { docId, changes: [change] })
    },
    async burst(fns) {
      const changes: Uint8Array[] = []
      for (const fn of fns) {
        doc = A.change(doc, fn)
        changes.push(A.getLastLocalChange(doc)!)
      }
      await client.request('doc.applyChanges', { docId, changes })
    },
    until(check, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        if (check(doc)) return resolve(performance.now())
        const timer = setTimeout(() => {
          waiters.delete(w)
          reject(new Error(`replica of ${docId} did not reach the expected state in ${timeoutMs} ms`))
        }, timeoutMs)
        const w = (): void => {
          if (!check(doc)) return
          clearTimeout(timer)
          waiters.delete(w)
          resolve(performance.now())
        }
        waiters.add(w)
      })
    },
    close() {
      off()
      void client.request('doc.close', { docId }).catch(() => {})
    },
  }
}
