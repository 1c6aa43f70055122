/**
 * Which listing events can change "My tasks": a `doc.list` event says which documents' rows changed
 * (`docIds`), and a teammate typing in a text document raises one every few keystrokes. Reading every
 * board again (`tasks.mine`) for each of them is work for nothing; only a board's change, a listing
 * change that names no documents, or a change of workspaces can move a card.
 *
 * A document's kind never changes, so each is asked for once (`doc.list` with `docIds`) and kept.
 */
import type { DocKind } from '../../../shared/board.ts'
import type { ClientEvent, PeerClient } from '../../../shared/protocol.ts'
import { MAX_LIST_REQUEST_DOCS } from '../../../shared/limits.ts'

type Client = Pick<PeerClient, 'request'>

/** Kinds kept at most; past this the oldest half is forgotten (asked again if it comes up). */
const MAX_KNOWN = 20_000

export class BoardWatch {
  private readonly kinds = new Map<string, DocKind>()
  private readonly client: Client

  constructor(client: Client) {
    this.client = client
  }

  /** Whether `e` may have changed a board (or which boards there are). Unsure (a failed lookup): true. */
  async mayChangeBoards(e: ClientEvent): Promise<boolean> {
    if (e.type === 'workspace.list') return true
    if (e.type !== 'doc.list') return false
    if (!e.docIds) return true
    const unknown = e.docIds.filter((id) => !this.kinds.has(id))
    try {
      for (let i = 0; i < unknown.length; i += MAX_LIST_REQUEST_DOCS) {
        const rows = await this.client.request('doc.list', {
          workspaceId: e.workspaceId,
          docIds: unknown.slice(i, i + MAX_LIST_REQUEST_DOCS),
          includeDeleted: true,
        })
        for (const r of rows) this.remember(r.id, r.kind)
      }
    } catch {
      return true
    }
    // A document the listing did not return (not in this workspace as this peer sees it) counts as a
    // possible board: it is asked again next time, and the tasks are read once more.
    return e.docIds.some((id) => this.kinds.get(id) !== 'text')
  }

  private remember(id: string, kind: DocKind): void {
    if (this.kinds.size >= MAX_KNOWN) {
      let drop = MAX_KNOWN / 2
      for (const key of this.kinds.keys()) {
        if (drop-- <= 0) break
        this.kinds.delete(key)
      }
    }
    this.kinds.set(id, kind)
  }
}
