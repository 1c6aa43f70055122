/**
 * What one Automerge change did to a Grapevine document: characters inserted into and deleted from the
 * text, whether it touched the title, and the op ids of its first and last text ops (for where it is).
 * A change of a few ops is decoded; a large one (a paste, a whole text replaced) is measured with
 * Automerge's diff from its deps to it, which stays in WebAssembly: decoding a 400,000-op change into JS
 * objects took 1.9 s here, the diff under a millisecond on that document; a 32,768-character step of a
 * 300 KiB text, diffed on a peer that had just applied ten of them, about 120 ms (session 30). (History
 * and the digest both count this way.)
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

/**
 * What a change does to the one object all its operations edit, read off the decode it got when it
 * arrived (or was made), so that counting it later (history, the digest) needs no second decode:
 * `A.inspectChange` of every change was most of a peer's history work while a long text was typed.
 * Undefined when its operations edit more than one object (counted the usual way).
 */
export interface OpsEffect {
  /** The object its operations edit ('_root' for the document's root). */
  obj: string
  /** Operations (a change with none endorses history). */
  ops: number
  inserted: number
  deleted: number
  /** On the root: it sets the key 'title'. */
  titleKey: boolean
  first: string | null
  last: string | null
}

export function opsEffect(decoded: A.DecodedChange): OpsEffect | undefined {
  const ops = decoded.ops as unknown as DecodedOp[]
  const obj = ops[0]?.obj
  if (obj === undefined || !ops.every((op) => op.obj === obj)) return undefined
  if (obj === '_root') return { obj, ops: ops.length, inserted: 0, deleted: 0, titleKey: setsTitle(ops), first: null, last: null }
  return { obj, ops: ops.length, titleKey: false, ...editsOf(decoded, obj) }
}

/** What each of several decoded changes does, by hash, for those whose operations edit one object (`opsEffect`). */
export function effectsOf(decoded: readonly A.DecodedChange[]): (readonly [hash: string, effect: OpsEffect])[] {
  return decoded.flatMap((c) => {
    const e = opsEffect(c)
    return e ? [[c.hash, e] as const] : []
  })
}

/** Whether any of the ops sets the root's 'title' key. */
function setsTitle(ops: readonly DecodedOp[]): boolean {
  return ops.some((op) => op.obj === '_root' && op.key === 'title')
}

/** Characters a decoded change inserts into and deletes from the sequence `obj`, and the ids of its first and last ops there. */
function editsOf(d: A.DecodedChange, obj: string): Pick<ChangeEffect, 'inserted' | 'deleted' | 'first' | 'last'> {
  const e: Pick<ChangeEffect, 'inserted' | 'deleted' | 'first' | 'last'> = { inserted: 0, deleted: 0, first: null, last: null }
  for (const [i, op] of (d.ops as unknown as DecodedOp[]).entries()) {
    if (op.obj !== obj) continue
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

/**
 * Effects of changes that arrived lately, by hash: a bounded memory (the oldest are forgotten first).
 * Two generations of at most half the bound each: when the newer is full, the older is dropped whole.
 * (Deleting a Map's oldest key on every add, as this did first, leaves the deleted slots at the front of
 * V8's ordered table, and each `keys().next()` walked them: 100,000 changes arriving in runs spent 0.35 s
 * of a catch-up there.)
 */
export class KnownEffects {
  private newer = new Map<string, OpsEffect>()
  private older = new Map<string, OpsEffect>()
  private readonly half: number
  constructor(max = 16_384) {
    this.half = Math.max(1, max >> 1)
  }

  add(hash: string, e: OpsEffect): void {
    if (this.newer.size >= this.half) {
      this.older = this.newer
      this.newer = new Map()
    }
    this.newer.set(hash, e)
  }

  get(hash: string): OpsEffect | undefined {
    return this.newer.get(hash) ?? this.older.get(hash)
  }

  get size(): number {
    return this.newer.size + this.older.size
  }
}

/** `changeEffect` of a change whose operations all edit one object, from what its decode said. */
function fromKnown(k: OpsEffect, objs: { text: string | null; title: string | null }): ChangeEffect {
  const e: ChangeEffect = { inserted: 0, deleted: 0, retitled: false, edits: k.ops > 0, first: null, last: null }
  if (k.obj === '_root') e.retitled = k.titleKey
  else if (k.obj === objs.title) e.retitled = true
  else if (k.obj === objs.text) Object.assign(e, { inserted: k.inserted, deleted: k.deleted, first: k.first, last: k.last })
  return e
}

export function changeEffect(
  doc: GDoc,
  meta: A.ChangeMetadata,
  objs: { text: string | null; title: string | null },
  known?: OpsEffect,
): ChangeEffect {
  const ops = meta.maxOp - meta.startOp + 1
  const e: ChangeEffect = { inserted: 0, deleted: 0, retitled: false, edits: ops > 0, first: null, last: null }
  if (ops <= 0) return e
  if (known) return fromKnown(known, objs)
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
  const decodedOps = d.ops as unknown as DecodedOp[]
  e.edits = decodedOps.length > 0
  e.retitled = setsTitle(decodedOps) || (objs.title !== null && decodedOps.some((op) => op.obj === objs.title))
  return objs.text === null ? e : { ...e, ...editsOf(d, objs.text) }
}
