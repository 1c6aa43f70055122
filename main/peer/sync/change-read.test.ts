/**
 * change-read.ts: a change's header and hash, read without decoding its operations, are what
 * Automerge's own decode says (seeded random documents of several actors); malformed chunks are refused
 * with ChangeFormatError and nothing else; small changes are still decoded, large ones not.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { seededRandom, type Random } from '../test/random.ts'
import { sha256 } from '../identity/keys.ts'
import { ChangeFormatError, DECODE_BELOW_BYTES, readChange, readHeader } from './change-read.ts'

type Doc = { text: string; title: string; n?: number }

/** Changes of a few actors editing, merging, with messages and times of either sign, small and large. */
function randomHistory(rnd: Random): Uint8Array[] {
  // Actor ids of 1, 8 and 24 bytes (ours are 24).
  const docs = Array.from({ length: rnd.between(1, 4) }, (_, i) => A.init<Doc>({ actor: `${i + 1}`.repeat(rnd.pick([2, 16, 48])) }))
  docs[0] = A.change(docs[0]!, (d) => {
    d.text = 'start'
    d.title = 'T'
  })
  for (let i = 1; i < docs.length; i++) docs[i] = A.merge(docs[i]!, docs[0]!)
  for (let step = 0; step < 20; step++) {
    const i = rnd.int(docs.length)
    const d = docs[i]!
    const what = rnd.int(10)
    if (what === 0 && docs.length > 1) {
      docs[i] = A.merge(d, docs[(i + rnd.between(1, docs.length - 1)) % docs.length]!)
      continue
    }
    const options: A.ChangeOptions<Doc> = {}
    if (rnd.int(3) === 0) options.message = rnd.pick(['', 'a note', 'ünïcödé ✓', rnd.text(rnd.between(1, 300))])
    if (rnd.int(3) === 0) options.time = rnd.pick([0, -1, -86_400, 1_700_000_000, 2 ** 40, -(2 ** 40)])
    docs[i] = A.change(d, options, (x) => {
      const len = x.text.length
      if (what <= 6) A.splice(x, ['text'], rnd.int(len + 1), 0, rnd.text(rnd.int(8) ? rnd.pick([1, 3, 50, 500]) : DECODE_BELOW_BYTES))
      else if (what === 7 && len > 0) A.splice(x, ['text'], rnd.int(len), 1)
      else if (what === 8) x.title = rnd.text(5)
      else x.n = rnd.int(1000)
    })
  }
  let all = A.clone(docs[0]!)
  for (const d of docs.slice(1)) all = A.merge(all, d)
  return A.getAllChanges(all)
}

test('the header read and the hash computed are what Automerge decodes (seeded random histories)', () => {
  const rnd = seededRandom('change-read')
  let large = 0
  let changes = 0
  for (let trial = 0; trial < 5; trial++) {
    for (const bytes of randomHistory(rnd.fork())) {
      changes++
      const decoded = A.decodeChange(bytes)
      const header = readHeader(bytes)
      assert.deepEqual(
        { hash: header.hash, deps: header.deps, actor: header.actor, seq: header.seq, time: header.time },
        { hash: decoded.hash, deps: decoded.deps, actor: decoded.actor, seq: decoded.seq, time: decoded.time },
      )
      const read = readChange(bytes)
      assert.equal(read.hash, decoded.hash)
      if (bytes.byteLength >= DECODE_BELOW_BYTES) {
        large++
        assert.equal(read.effect, undefined, 'a large change is not decoded')
        assert.equal(read.empty, false)
      } else assert.equal(read.empty, decoded.ops.length === 0)
    }
  }
  assert.ok(large > 0 && large < changes, `both kinds were read (${large} large of ${changes})`)
})

/** A small change, and one of `DECODE_BELOW_BYTES` or more. */
function twoChanges(): { small: Uint8Array; large: Uint8Array } {
  let d = A.change(A.init<Doc>(), (x) => {
    x.text = 'hello'
  })
  const small = A.getLastLocalChange(d)!
  d = A.change(d, (x) => A.splice(x, ['text'], 5, 0, 'x'.repeat(DECODE_BELOW_BYTES)))
  return { small, large: A.getLastLocalChange(d)! }
}

/** `bytes` with its checksum made right again (what someone crafting a chunk would do). */
function rechecked(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes)
  out.set(sha256(out.subarray(8)).subarray(0, 4), 4)
  return out
}

test('a malformed chunk is refused with ChangeFormatError, whatever is wrong with it', () => {
  const { small, large } = twoChanges()
  const refused = (bytes: Uint8Array, why: RegExp): void =>
    assert.throws(
      () => readHeader(bytes),
      (e: unknown) => e instanceof ChangeFormatError && why.test(e.message),
    )
  // Every truncation: the header, or the chunk's length, says it ends too soon.
  for (let n = 0; n < small.byteLength; n++) refused(small.subarray(0, n), /ends inside|says \d+ bytes|magic/)
  refused(new Uint8Array([...small, 0]), /says \d+ bytes and \d+ follow/)
  const flipped = Uint8Array.from(large)
  flipped[large.byteLength - 10]! ^= 1
  refused(flipped, /checksum/)
  const magic = Uint8Array.from(small)
  magic[0] = 0
  refused(magic, /magic/)
  const compressed = Uint8Array.from(small)
  compressed[8] = 2
  refused(compressed, /not an uncompressed change/)
  // An actor id of no bytes (the length after the deps: one dep-count byte of 0 in a first change).
  const noActor = Uint8Array.from(small)
  noActor[11] = 0
  refused(rechecked(noActor), /actor id of 0 bytes|checksum|ends inside/)
  // A length that does not end: LEB128 continuation bits to the end.
  refused(new Uint8Array([0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, ...new Array(12).fill(0xff)]), /too large|ends inside/)
  // Large or small, readChange refuses the same way (a small one through Automerge's decode).
  assert.throws(() => readChange(flipped), ChangeFormatError)
  assert.throws(() => readChange(small.subarray(0, 20)), ChangeFormatError)
})

test('random damage to a chunk: refused, or read with the hash of exactly those bytes (seeded)', () => {
  const rnd = seededRandom('change-read damage')
  const { small, large } = twoChanges()
  for (let i = 0; i < 2_000; i++) {
    const bytes = Uint8Array.from(rnd.pick([small, large]))
    for (let k = rnd.between(1, 4); k > 0; k--) bytes[rnd.int(Math.min(bytes.byteLength, 80))] = rnd.int(256)
    const candidate = rnd.int(2) ? rechecked(bytes) : bytes
    try {
      const h = readHeader(candidate)
      assert.equal(h.hash, sha256(candidate.subarray(8)).toString('hex'))
    } catch (err) {
      assert.ok(err instanceof ChangeFormatError, `not a ChangeFormatError: ${String(err)}`)
    }
  }
})

test('a large chunk whose header reads but whose operations are garbage is read; applying it fails (left to quarantine.ts)', () => {
  const { large } = twoChanges()
  const header = readHeader(large)
  // Keep the header (about 40 bytes: no deps, a 16-byte actor, seq, start op, time, no message), then
  // garbage of the same length: columns nobody can decode.
  const garbage = Uint8Array.from(large)
  for (let i = 64; i < garbage.byteLength; i++) garbage[i] = (i * 131) & 0xff
  const bad = rechecked(garbage)
  const read = readChange(bad)
  assert.equal(read.actor, header.actor)
  assert.throws(() => A.decodeChange(bad))
  assert.throws(() => A.applyChanges(A.init<Doc>(), [bad]))
})
