/**
 * Range-based set reconciliation, after Negentropy (Doug Hoyte, 2023), for the documents of a
 * workspace: each side holds items (an id and a fingerprint of the item's state, for documents a
 * digest of their heads), sorted by id. A message is a run of contiguous ranges of the id space, from
 * the start, each named by its exclusive upper bound (`null`: to the end) and carrying one of:
 *
 *   skip         nothing to do there (equal, or settled)
 *   fp           a digest of the sender's items in the range; the receiver compares it with its own
 *                and, where they differ, splits the range into `branch` parts by its own items, or
 *                lists them when it holds at most `listMax` there
 *   list         every item the sender holds in the range, each with its value
 *   diff         (to the initiator only, answering a list) the receiver's items that the list lacked
 *                or held differently, with their values, and the listed ids it does not hold
 *
 * The initiator (the side that started: the catch-up dialer) learns the exact difference: what the
 * other side holds and it does not (`theirs`, with their values), what both hold differently
 * (`differ`, with the other side's values), and what only it holds (`ours`). Equal ranges cost one
 * fingerprint, so the bytes follow the number of differences times the depth
 * (log_branch(n / listMax)), not the number of items. Pure: no I/O, no clock, no randomness.
 *
 * Untrusted input: `receive` checks that bounds ascend, that listed ids ascend and lie in their
 * range, and that a diff names only ids this side listed; anything else is a `ReconcileError`.
 */
import { createHash } from 'node:crypto'

/** One item: its id, and a fingerprint of its state (equal fingerprints: equal items). */
export interface Item {
  id: string
  fp: Uint8Array
}
/** An exclusive upper bound of a range; `null` is past every id. */
export type Bound = string | null
export type Listed<V> = [id: string, value: V]
export type Range<V> =
  | { mode: 'skip'; u: Bound }
  | { mode: 'fp'; u: Bound; fp: Uint8Array }
  | { mode: 'list'; u: Bound; items: Listed<V>[] }
  | { mode: 'diff'; u: Bound; items: Listed<V>[]; lacks: string[] }

export interface ReconcileOptions<V> {
  /** The side that started; it learns the difference, the other side only answers. */
  initiator: boolean
  /** The value listed with one of our items (for documents, their heads). */
  valueOf: (id: string) => V
  /** The fingerprint of a listed value, as `Item.fp` would carry it. */
  fpOf: (value: V) => Uint8Array
  /** Parts a differing range is split into. */
  branch?: number
  /** A side holding at most this many items of a differing range lists them instead of splitting. */
  listMax?: number
  /**
   * The same for the first answer, to a digest of the whole set (which differed for sure): listing a
   * small set whole costs a few KiB and saves every round of splitting.
   */
  firstListMax?: number
  /** Most entries in one list or diff range; longer ones are cut into several ranges. */
  chunk?: number
}

/** A reconciliation message that breaks the rules (from the other side: untrusted). */
export class ReconcileError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ReconcileError'
  }
}

export const FINGERPRINT_BYTES = 16
const DEFAULTS = { branch: 16, listMax: 8, firstListMax: 64, chunk: 1024 }

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && Buffer.from(a).equals(b)

/** The shortest prefix of `b` that sorts after `a` (`a < b`): a bound between them. */
export function boundBetween(a: string, b: string): string {
  let i = 0
  while (i < a.length && a[i] === b[i]) i++
  return b.slice(0, i + 1)
}

export class Reconciler<V> {
  /** Initiator only: ids the other side holds and this one does not, with their values. */
  readonly theirs = new Map<string, V>()
  /** Initiator only: ids both hold with different fingerprints, with the other side's values. */
  readonly differ = new Map<string, V>()
  /** Initiator only: ids this side holds and the other does not. */
  readonly ours = new Set<string>()
  private readonly ids: string[]
  private readonly fps: Uint8Array[]
  /** Every id, each ended by a newline, and every fingerprint, one after another: a range's digest hashes two slices. */
  private readonly packedIds: Buffer
  private readonly packedFps: Buffer
  private readonly idOffsets: Uint32Array
  private readonly opts: Required<ReconcileOptions<V>>
  /** Where the message being received has got to: it may come in several parts. */
  private lower = ''
  private cursor = 0
  private ended = false
  private out: Range<V>[] = []

  constructor(items: readonly Item[], opts: ReconcileOptions<V>) {
    const o = { ...DEFAULTS, ...opts }
    // At least two parts and one listed item, or a range of one differing item would be split into itself forever.
    this.opts = { ...o, branch: Math.max(2, o.branch), listMax: Math.max(1, o.listMax), chunk: Math.max(1, o.chunk) }
    const ascending = items.every((item, i) => i === 0 || items[i - 1]!.id < item.id)
    const sorted = ascending ? items : [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    for (let i = 1; i < sorted.length; i++) if (sorted[i]!.id === sorted[i - 1]!.id) throw new Error(`duplicate id ${sorted[i]!.id}`)
    this.ids = sorted.map((i) => i.id)
    this.fps = sorted.map((i) => i.fp)
    // Ids are printable ASCII (`idSchema`), each ended by a newline; fingerprints all of one length.
    if (this.ids.some((id) => !/^[\x20-\x7e]+$/.test(id))) throw new Error('ids must be printable ASCII')
    const joined = this.ids.length ? `${this.ids.join('\n')}\n` : ''
    if (this.fps.some((f) => f.byteLength !== FINGERPRINT_BYTES)) throw new Error(`fingerprints must be ${FINGERPRINT_BYTES} bytes`)
    this.packedIds = Buffer.from(joined, 'latin1')
    this.packedFps = Buffer.concat(this.fps)
    this.idOffsets = new Uint32Array(sorted.length + 1)
    let at = 0
    for (let n = 0; n < sorted.length; n++) {
      at += this.ids[n]!.length + 1
      this.idOffsets[n + 1] = at
    }
  }

  get size(): number {
    return this.ids.length
  }

  /** A 32-byte digest of the whole set: equal digests, equal sets. */
  digest(): Uint8Array {
    return this.hash(0, this.ids.length, 'set').digest()
  }

  /** The non-initiator's first message: its answer to a digest of the initiator's whole set that differed. */
  initial(): Range<V>[] {
    const out: Range<V>[] = []
    this.split(out, null, 0, this.ids.length, this.opts.firstListMax)
    return normalize(out)
  }

  /**
   * Takes a message, or one part of it (`more`: parts follow), and returns the answer once the whole
   * message is in (null before). An empty answer from the initiator: reconciliation is done.
   */
  receive(part: readonly Range<V>[], more = false): Range<V>[] | null {
    for (const r of part) this.take(r)
    if (more) return null
    const out = normalize(this.out)
    this.out = []
    this.lower = ''
    this.cursor = 0
    this.ended = false
    return out
  }

  private take(r: Range<V>): void {
    if (this.ended) throw new ReconcileError('a range after the one that ends at the end of the id space')
    if (r.u !== null && (r.u === '' || r.u <= this.lower))
      throw new ReconcileError(`range bounds must ascend: ${JSON.stringify(r.u)} after ${JSON.stringify(this.lower)}`)
    const lower = this.lower
    const lo = this.cursor
    const hi = r.u === null ? this.ids.length : this.indexOf(r.u, lo)
    switch (r.mode) {
      case 'skip':
        this.out.push({ mode: 'skip', u: r.u })
        break
      case 'fp':
        if (sameBytes(r.fp, this.fingerprint(lo, hi))) this.out.push({ mode: 'skip', u: r.u })
        else this.split(this.out, r.u, lo, hi)
        break
      case 'list':
        this.checkIds(
          r.items.map(([id]) => id),
          lower,
          r.u,
          'listed',
        )
        if (this.opts.initiator) {
          this.settleList(r.items, lo, hi)
          this.out.push({ mode: 'skip', u: r.u })
        } else this.answerList(r.items, r.u, lo, hi)
        break
      case 'diff':
        if (!this.opts.initiator) throw new ReconcileError('a diff range is only sent to the side that started')
        this.checkIds(
          r.items.map(([id]) => id),
          lower,
          r.u,
          'diff',
        )
        this.checkIds(r.lacks, lower, r.u, 'lacked')
        this.settleDiff(r.items, r.lacks, lo, hi)
        this.out.push({ mode: 'skip', u: r.u })
        break
    }
    if (r.u === null) this.ended = true
    else this.lower = r.u
    this.cursor = hi
  }

  /** The first index at or after `from` whose id is not below `bound`. */
  private indexOf(bound: string, from: number): number {
    let lo = from
    let hi = this.ids.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.ids[mid]! < bound) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private hash(lo: number, hi: number, tag: string) {
    const count = Buffer.alloc(4)
    count.writeUInt32BE(hi - lo)
    return createHash('sha256')
      .update(tag)
      .update(count)
      .update(this.packedIds.subarray(this.idOffsets[lo], this.idOffsets[hi]))
      .update(this.packedFps.subarray(lo * FINGERPRINT_BYTES, hi * FINGERPRINT_BYTES))
  }

  private fingerprint(lo: number, hi: number): Uint8Array {
    return this.hash(lo, hi, 'range').digest().subarray(0, FINGERPRINT_BYTES)
  }

  /** Our answer where a range differs: our items there in `branch` fingerprinted parts, or listed. */
  private split(out: Range<V>[], u: Bound, lo: number, hi: number, listMax = this.opts.listMax): void {
    const count = hi - lo
    if (count <= listMax) {
      const items: Listed<V>[] = []
      for (let i = lo; i < hi; i++) items.push([this.ids[i]!, this.opts.valueOf(this.ids[i]!)])
      this.chunked(out, u, items, [], 'list')
      return
    }
    const parts = Math.min(this.opts.branch, count)
    for (let p = 0; p < parts; p++) {
      const a = lo + Math.floor((p * count) / parts)
      const b = lo + Math.floor(((p + 1) * count) / parts)
      const upper = p === parts - 1 ? u : boundBetween(this.ids[b - 1]!, this.ids[b]!)
      out.push({ mode: 'fp', u: upper, fp: this.fingerprint(a, b) })
    }
  }

  /** Ids of a list, diff or lack must ascend and lie within [lower, u). */
  private checkIds(ids: readonly string[], lower: string, u: Bound, what: string): void {
    let last: string | null = null
    for (const id of ids) {
      if (id < lower || (u !== null && id >= u)) throw new ReconcileError(`${what} id ${id} lies outside its range`)
      if (last !== null && id <= last) throw new ReconcileError(`${what} ids must ascend: ${id} after ${last}`)
      last = id
    }
  }

  /** Initiator: the other side listed every item it holds in [lo, hi): the difference there is known. */
  private settleList(items: readonly Listed<V>[], lo: number, hi: number): void {
    let i = lo
    let j = 0
    while (i < hi || j < items.length) {
      const theirs = items[j]
      if (!theirs || (i < hi && this.ids[i]! < theirs[0])) this.ours.add(this.ids[i++]!)
      else if (i >= hi || theirs[0] < this.ids[i]!) {
        this.theirs.set(theirs[0], theirs[1])
        j++
      } else {
        if (!sameBytes(this.fps[i]!, this.opts.fpOf(theirs[1]))) this.differ.set(theirs[0], theirs[1])
        i++
        j++
      }
    }
  }

  /** Non-initiator: the answer to a list is what the list lacked or held differently, and what we lack of it. */
  private answerList(items: readonly Listed<V>[], u: Bound, lo: number, hi: number): void {
    const mine: Listed<V>[] = []
    const lacks: string[] = []
    let i = lo
    let j = 0
    while (i < hi || j < items.length) {
      const theirs = items[j]
      if (!theirs || (i < hi && this.ids[i]! < theirs[0])) {
        mine.push([this.ids[i]!, this.opts.valueOf(this.ids[i]!)])
        i++
      } else if (i >= hi || theirs[0] < this.ids[i]!) {
        lacks.push(theirs[0])
        j++
      } else {
        if (!sameBytes(this.fps[i]!, this.opts.fpOf(theirs[1]))) mine.push([this.ids[i]!, this.opts.valueOf(this.ids[i]!)])
        i++
        j++
      }
    }
    if (mine.length === 0 && lacks.length === 0) this.out.push({ mode: 'skip', u })
    else this.chunked(this.out, u, mine, lacks, 'diff')
  }

  /** Initiator: the answer to our list; whatever of ours in [lo, hi) it does not name is equal. */
  private settleDiff(items: readonly Listed<V>[], lacks: readonly string[], lo: number, hi: number): void {
    const at = (id: string): number => {
      const i = this.indexOf(id, lo)
      return i < hi && this.ids[i] === id ? i : -1
    }
    for (const [id, value] of items) {
      const i = at(id)
      if (i < 0) this.theirs.set(id, value)
      else if (!sameBytes(this.fps[i]!, this.opts.fpOf(value))) this.differ.set(id, value)
    }
    for (const id of lacks) {
      if (at(id) < 0) throw new ReconcileError(`the answer says this side holds ${id}, which it does not`)
      this.ours.add(id)
    }
  }

  /**
   * Ranges covering the rest of the range up to `u` that carry `items` (and `lacks`), at most `chunk` entries each: the
   * cut between two entries is a bound between their ids, so each range still covers its part whole.
   */
  private chunked(out: Range<V>[], u: Bound, items: Listed<V>[], lacks: string[], mode: 'list' | 'diff'): void {
    const entries: ({ item: Listed<V> } | { lack: string })[] = [...items.map((item) => ({ item })), ...lacks.map((lack) => ({ lack }))]
    const idOf = (e: (typeof entries)[number]): string => ('item' in e ? e.item[0] : e.lack)
    entries.sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1))
    const size = this.opts.chunk
    if (entries.length === 0) {
      out.push(mode === 'list' ? { mode, u, items: [] } : { mode, u, items: [], lacks: [] })
      return
    }
    for (let from = 0; from < entries.length; from += size) {
      const part = entries.slice(from, from + size)
      const next = entries[from + size]
      const upper = next ? boundBetween(idOf(part.at(-1)!), idOf(next)) : u
      const partItems = part.flatMap((e) => ('item' in e ? [e.item] : []))
      if (mode === 'list') out.push({ mode, u: upper, items: partItems })
      else out.push({ mode, u: upper, items: partItems, lacks: part.flatMap((e) => ('lack' in e ? [e.lack] : [])) })
    }
  }
}

/** Consecutive skips merged, trailing ones dropped: an answer with nothing left to do is empty. */
function normalize<V>(ranges: Range<V>[]): Range<V>[] {
  const out: Range<V>[] = []
  for (const r of ranges) {
    const last = out.at(-1)
    if (r.mode === 'skip' && last?.mode === 'skip') last.u = r.u
    else out.push(r)
  }
  while (out.at(-1)?.mode === 'skip') out.pop()
  return out
}

/** An id as it travels: 16 bytes when it is 32 lowercase hex digits (every id Grapevine makes), else as it is. */
export type WireId = string | Uint8Array
export type WireRange<W> = [Bound, 0] | [Bound, 1, Uint8Array] | [Bound, 2, [WireId, W][]] | [Bound, 3, [WireId, W][], WireId[]]

const HEX_ID = /^[0-9a-f]{32}$/

export function packId(id: string): WireId {
  return HEX_ID.test(id) ? Buffer.from(id, 'hex') : id
}

export function unpackId(id: WireId): string {
  return typeof id === 'string' ? id : Buffer.from(id).toString('hex')
}

/** Ranges as compact tuples, `[bound, mode, ...]`, ids packed. */
export function rangesToWire<V>(ranges: readonly Range<V>[]): WireRange<V>[] {
  const items = (xs: Listed<V>[]): [WireId, V][] => xs.map(([id, v]) => [packId(id), v])
  return ranges.map((r): WireRange<V> => {
    if (r.mode === 'skip') return [r.u, 0]
    if (r.mode === 'fp') return [r.u, 1, r.fp]
    if (r.mode === 'list') return [r.u, 2, items(r.items)]
    return [r.u, 3, items(r.items), r.lacks.map(packId)]
  })
}

export function rangesFromWire<V>(ranges: readonly WireRange<V>[]): Range<V>[] {
  const items = (xs: [WireId, V][]): Listed<V>[] => xs.map(([id, v]) => [unpackId(id), v])
  return ranges.map((r): Range<V> => {
    if (r[1] === 0) return { mode: 'skip', u: r[0] }
    if (r[1] === 1) return { mode: 'fp', u: r[0], fp: r[2] }
    if (r[1] === 2) return { mode: 'list', u: r[0], items: items(r[2]) }
    return { mode: 'diff', u: r[0], items: items(r[2]), lacks: r[3].map(unpackId) }
  })
}
