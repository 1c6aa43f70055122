/**
 * Range-based set reconciliation, alone: seeded random sets of 0 to 100,000 ids with k differences
 * (ids on one side only, and ids on both with different fingerprints). The side that started learns
 * exactly the difference, and the bytes exchanged grow with k, not with the size of the sets.
 * Malformed messages are refused with a ReconcileError.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from 'cborg'
import { seededRandom, type Random } from '../test/random.ts'
import {
  boundBetween,
  packId,
  rangesFromWire,
  rangesToWire,
  ReconcileError,
  Reconciler,
  unpackId,
  type Item,
  type Range,
  type ReconcileOptions,
} from './reconcile.ts'

const rnd = seededRandom('reconcile')

const hex = (r: Random, bytes: number): string => {
  let s = ''
  for (let i = 0; i < bytes; i += 4)
    s += r
      .int(2 ** 32)
      .toString(16)
      .padStart(8, '0')
  return s.slice(0, bytes * 2)
}
const fp = (r: Random): Uint8Array => Buffer.from(hex(r, 16), 'hex')

interface Case {
  a: Item[]
  b: Item[]
  onlyA: Set<string>
  onlyB: Set<string>
  changed: Set<string>
}

const bases = new Map<number, Item[]>()
/** `n` shared ids (one set per n, sorted, made once), then `k` differences spread over the three kinds. */
function makeCase(r: Random, n: number, k: number): Case {
  let shared = bases.get(n)
  if (!shared) {
    shared = Array.from({ length: n }, () => ({ id: hex(r, 16), fp: fp(r) })).sort((x, y) => (x.id < y.id ? -1 : 1))
    bases.set(n, shared)
  }
  const a = [...shared]
  const b = [...shared]
  const onlyA = new Set<string>()
  const onlyB = new Set<string>()
  const changed = new Set<string>()
  for (let i = 0; i < k; i++) {
    const kind = n === 0 ? r.int(2) : r.int(3)
    if (kind === 0) {
      const id = hex(r, 16)
      a.splice(r.int(a.length + 1), 0, { id, fp: fp(r) })
      onlyA.add(id)
    } else if (kind === 1) {
      const id = hex(r, 16)
      b.push({ id, fp: fp(r) })
      onlyB.add(id)
    } else {
      // An id both hold, held differently by B (picked again: fewer than k distinct changes is fine).
      const at = r.int(n)
      const id = shared[at]!.id
      changed.add(id)
      b[at] = { id, fp: fp(r) }
    }
  }
  return { a, b, onlyA, onlyB, changed }
}

type V = Uint8Array
type Tuning = Pick<ReconcileOptions<V>, 'chunk' | 'branch' | 'listMax' | 'firstListMax'>
const options = (items: Item[], initiator: boolean, extra: Tuning = {}): ReconcileOptions<V> => {
  const byId = new Map(items.map((i) => [i.id, i.fp]))
  return { initiator, valueOf: (id) => byId.get(id)!, fpOf: (v) => v, ...extra }
}
const bytesOf = (msg: Range<V>[]): number => encode(rangesToWire(msg)).byteLength

/** Runs a whole reconciliation; `parts`: each message travels in parts of that many ranges. */
function reconcile(c: Case, extra: Tuning = {}, parts = Infinity) {
  const d = new Reconciler(c.a, options(c.a, true, extra))
  const r = new Reconciler(c.b, options(c.b, false, extra))
  if (Buffer.from(d.digest()).equals(r.digest())) return { d, bytes: 0, messages: 0 }
  const deliver = (to: Reconciler<V>, msg: Range<V>[]): Range<V>[] => {
    // Through the wire form, as catch-up sends it.
    const wire = rangesFromWire(structuredClone(rangesToWire(msg)))
    if (parts === Infinity) return to.receive(wire)!
    let answer: Range<V>[] | null = null
    for (let i = 0; i < Math.max(1, wire.length); i += parts) answer = to.receive(wire.slice(i, i + parts), i + parts < wire.length)
    return answer!
  }
  let msg = r.initial()
  let bytes = bytesOf(msg)
  let messages = 1
  for (;;) {
    const out = deliver(d, msg)
    if (out.length === 0) break
    bytes += bytesOf(out)
    msg = deliver(r, out)
    bytes += bytesOf(msg)
    messages += 2
    assert.ok(messages < 40, 'reconciliation does not end')
  }
  return { d, bytes, messages }
}

function assertExact(c: Case, d: Reconciler<V>, what: string): void {
  const sorted = (xs: Iterable<string>): string[] => [...xs].sort()
  assert.deepEqual(sorted(d.ours), sorted(c.onlyA), `${what}: ids only the initiator holds`)
  assert.deepEqual(sorted(d.theirs.keys()), sorted(c.onlyB), `${what}: ids only the other side holds`)
  assert.deepEqual(sorted(d.differ.keys()), sorted(c.changed), `${what}: ids held differently`)
  const bFp = new Map(c.b.map((i) => [i.id, i.fp]))
  for (const [id, v] of [...d.theirs, ...d.differ])
    assert.ok(Buffer.from(v).equals(bFp.get(id)!), `${what}: the value of ${id} is the other side's`)
}

describe('range-based set reconciliation', () => {
  it('finds exactly the differences, for sets of 0 to 100,000 ids and 0 to 1,000 differences', () => {
    for (const n of [0, 1, 7, 100, 1_000, 10_000, 100_000])
      for (const k of [0, 1, 3, 10, 100, 1_000]) {
        if (n >= 100_000 && (k === 3 || k === 100)) continue
        const c = makeCase(rnd, n, k)
        const { d, bytes, messages } = reconcile(c)
        assertExact(c, d, `n=${n} k=${k}`)
        if (k === 0) assert.equal(bytes, 0, 'equal sets cost nothing beyond the digest')
        // A small set is listed whole in the first answer: nothing more to ask.
        else if (c.b.length <= 64) assert.equal(messages, 1, `n=${n} k=${k}: one message`)
        if (n >= 1_000 && (k === 0 || k === 10 || k === 1_000)) console.log(`n=${n} k=${k}: ${bytes} bytes in ${messages} messages`)
      }
  })

  it('also when one side is empty, when every id differs, with small chunks and messages in parts', () => {
    const empty: Item[] = []
    const many = makeCase(rnd, 5_000, 0).a
    for (const [a, b] of [
      [empty, many],
      [many, empty],
    ] as const) {
      const c: Case = {
        a: [...a],
        b: [...b],
        onlyA: new Set(a.map((i) => i.id)),
        onlyB: new Set(b.map((i) => i.id)),
        changed: new Set(),
      }
      assertExact(c, reconcile(c).d, `${a.length} against ${b.length}`)
      assertExact(c, reconcile(c, { chunk: 7 }, 5).d, `${a.length} against ${b.length}, chunks of 7, parts of 5`)
    }
    const all = makeCase(rnd, 2_000, 0)
    const c: Case = {
      a: all.a,
      b: all.b.map((i) => ({ id: i.id, fp: fp(rnd) })),
      onlyA: new Set(),
      onlyB: new Set(),
      changed: new Set(all.a.map((i) => i.id)),
    }
    assertExact(c, reconcile(c, { chunk: 5, branch: 4, listMax: 3 }, 3).d, 'every id held differently')
    for (let trial = 0; trial < 30; trial++) {
      const t = makeCase(rnd, rnd.int(3_000), rnd.int(200))
      const opts = { chunk: 1 + rnd.int(20), branch: 2 + rnd.int(20), listMax: rnd.int(20), firstListMax: rnd.int(100) }
      assertExact(t, reconcile(t, opts, 1 + rnd.int(10)).d, `trial ${trial} ${JSON.stringify(opts)}`)
    }
  })

  it('costs bytes that grow with the differences, not with the number of ids', () => {
    const cost = (n: number, k: number): number => {
      let total = 0
      for (let i = 0; i < 2; i++) total += reconcile(makeCase(rnd, n, k)).bytes
      return total / 2
    }
    const at1k = cost(1_000, 10)
    const at100k = cost(100_000, 10)
    const k1 = cost(100_000, 1)
    const k100 = cost(100_000, 100)
    console.log(`k=10: ${at1k} bytes at 1,000 ids, ${at100k} at 100,000; at 100,000 ids: k=1 ${k1}, k=100 ${k100}`)
    // 100 times the ids: the depth grows (log16), the bytes far less than 100 times.
    assert.ok(at100k < 4 * at1k, `10 differences among 100,000 ids cost ${at100k} bytes, among 1,000 ${at1k}`)
    assert.ok(k1 < at100k && at100k < k100, 'more differences, more bytes')
    // About 1.5 KiB per difference at most, whatever the size: a listing of every id would be 1.7 MB here.
    assert.ok(k100 < 100 * 1_536, `100 differences among 100,000 ids cost ${k100} bytes`)
  })

  it('refuses malformed messages with a ReconcileError', () => {
    const c = makeCase(rnd, 200, 0)
    const ids = c.a.map((i) => i.id).sort()
    const fresh = (initiator: boolean): Reconciler<V> => new Reconciler(c.a, options(c.a, initiator))
    const v = new Uint8Array(16)
    const bad: [string, boolean, Range<V>[], RegExp][] = [
      [
        'bounds that descend',
        false,
        [
          { mode: 'skip', u: 'b' },
          { mode: 'skip', u: 'a' },
        ],
        /must ascend/,
      ],
      ['an empty bound', false, [{ mode: 'skip', u: '' }], /must ascend/],
      [
        'a range after the end',
        false,
        [
          { mode: 'skip', u: null },
          { mode: 'skip', u: 'z' },
        ],
        /after the one that ends/,
      ],
      [
        'a listed id outside its range',
        false,
        [
          { mode: 'skip', u: '8' },
          { mode: 'list', u: null, items: [['0a', v]] },
        ],
        /outside its range/,
      ],
      [
        'listed ids out of order',
        true,
        [
          {
            mode: 'list',
            u: null,
            items: [
              ['b', v],
              ['a', v],
            ],
          },
        ],
        /must ascend/,
      ],
      [
        'a diff sent to the side that did not start',
        false,
        [{ mode: 'diff', u: null, items: [], lacks: [] }],
        /only sent to the side that started/,
      ],
      ['a diff naming an id this side does not hold', true, [{ mode: 'diff', u: null, items: [], lacks: ['zz'] }], /which it does not/],
      ['a lacked id outside its range', true, [{ mode: 'diff', u: '1', items: [], lacks: [ids.at(-1)!] }], /outside its range/],
    ]
    for (const [what, initiator, msg, pattern] of bad)
      assert.throws(
        () => fresh(initiator).receive(msg),
        (err: unknown) => err instanceof ReconcileError && pattern.test(err.message),
        what,
      )
  })

  it('packs hex ids to 16 bytes and finds the shortest bound between two ids', () => {
    const id = hex(rnd, 16)
    assert.equal((packId(id) as Uint8Array).byteLength, 16)
    assert.equal(unpackId(packId(id)), id)
    assert.equal(packId('doc-1'), 'doc-1')
    assert.equal(boundBetween('ab12', 'ab3'), 'ab3')
    assert.equal(boundBetween('ab', 'abc'), 'abc')
    assert.equal(boundBetween('a0ff', 'a1'), 'a1')
    assert.equal(boundBetween('0123', '4567'), '4')
  })
})
