/**
 * What one Automerge change did to a Grapevine document: characters inserted into and deleted from the
 * text, whether it touched the title, and the op ids of its first and last text ops (for where it is).
 * A change of a few ops is decoded; a large one (a paste, a whole text replaced) is measured with
 * Automerge's diff from its deps to it, which stays in WebAssembly: decoding a 400,000-op change into JS
 * objects took 1.9 s here, the diff under a millisecond. (History and the digest both count this way.)
 */
import * as A from '@automerge/automerge'
import type { GDoc } from './doc-content.ts'

/** Above this many ops a change is measured by a diff instead of decoded. */
const DECODE_OPS = 4_000

export interface ChangeEffect {
  inserted: number
  deleted: number
  retitled: boolean
  /** It has ops at all (an empty change endorses history: documents.ts `endorse`). */
  edits: boolean
  /** Op ids of its first and last text ops, as cursors (null: none known). */
  first: string | null
  last: string | null
}

/** An op as `A.decodeChange` gives it (its declared type omits the fields of sequence ops). */
interface DecodedOp {
  action: string
  obj: string
  key?: string
  elemId?: string
  insert?: boolean
  value?: unknown
  /** A `del` of this many consecutive elements. */
  multiOp?: number
}

/** The document's text and title objects now (the ops of a change are matched against them). */
export function contentObjects(doc: GDoc): { text: string | null; title: string | null } {
  return { text: A.getObjectId(doc, 'text'), title: A.getObjectId(doc, 'title') }
}

export function changeEffect(doc: GDoc, meta: A.ChangeMetadata, objs: { text: string | null; title: string | null }): ChangeEffect {
  const ops = meta.maxOp - meta.startOp + 1
  const e: ChangeEffect = { inserted: 0, deleted: 0, retitled: false, edits: ops > 0, first: null, last: null }
  if (ops <= 0) return e
  if (ops > DECODE_OPS) {
    for (const p of A.diff(doc, meta.deps, [meta.hash])) {
      if (p.path[0] === 'title') e.retitled = true
      if (p.path[0] !== 'text') continue
      if (p.action === 'splice') e.inserted += p.value.length
      else if (p.action === 'del') e.deleted += p.length ?? 1
      else if (p.action === 'put' && typeof p.value === 'string') e.inserted += p.value.length
    }
    // Its own ops' ids: where its insertions are (a deletion's elements are another's ops).
    e.first = `${meta.startOp}@${meta.actor}`
    e.last = `${meta.maxOp}@${meta.actor}`
    return e
  }
  const d = A.inspectChange(doc, meta.hash)
  if (!d) return e
  e.edits = d.ops.length > 0
  for (const [i, op] of (d.ops as unknown as DecodedOp[]).entries()) {
    if (op.obj === '_root') {
      if (op.key === 'title') e.retitled = true
      continue
    }
    if (op.obj === objs.title) e.retitled = true
    if (op.obj !== objs.text) continue
    const id = op.action === 'del' ? op.elemId : op.insert ? `${d.startOp + i}@${d.actor}` : undefined
    if (op.action === 'del') e.deleted += op.multiOp ?? 1
    else if (op.insert) e.inserted += typeof op.value === 'string' ? op.value.length : 1
    if (id) {
      e.first ??= id
      e.last = id
    }
  }
  return e
}
