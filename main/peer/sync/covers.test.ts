/**
 * Covers (covers.ts), without a network: a cover of changes that are not a chain (a teammate's changes
 * between them) is taken by a reader, which finds exactly its changes in it and can load them, and by a
 * keeper unopened with every covered change's hash and deps; every way a cover can lie is refused with its
 * reason, before or after opening. The judge is a stand-in that says "member" (membership has its own tests).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { PEER_PROTOCOL_VERSION, decodeGossip, encodeMessage, type SignedChange } from '../wire/peer-protocol.ts'
import { newActorId, type Device } from '../identity/device.ts'
import { newEpochKey } from '../crypto/epoch.ts'
import { sealContent } from '../crypto/seal.ts'
import { twoDevices } from '../test/helpers.ts'
import type { ChangeJudge } from '../workspace/workspaces.ts'
import { isRejection, sealCover, signCover, validateChange, type CoverChanges, type Rejection } from './change-validation.ts'
import { coveredChanges, CoverFormatError, encodeCoverDeps, type CoveredChange } from './covers.ts'

const ws = 'a'.repeat(32)
const doc = 'b'.repeat(32)
const m = ['c'.repeat(64)]
const member: ChangeJudge = () => ({ ok: true })
const reasonOf = (v: object): string => (isRejection(v) ? (v as Rejection).reason : 'accepted')
const bytesOf = (hex: string): Buffer => Buffer.from(hex, 'hex')

const devices = twoDevices

type Text = { text: string }

/**
 * Ana types `keys` keys, each its own change, and Ben types one key after every `every` of hers, on what he
 * has of hers: Ana's changes are then no chain (those after Ben's key build on it too). Returns the
 * document, Ana's changes and the cover of them as she would seal it.
 */
function typedTogether(
  ana: Device,
  ben: Device,
  keys: number,
  every: number,
): { doc: A.Doc<Text>; mine: Uint8Array[]; cover: CoverChanges } {
  let a = A.change(A.init<Text>({ actor: newActorId(ana) }), (x) => {
    x.text = ''
  })
  let b = A.clone(a, { actor: newActorId(ben) })
  const mine: Uint8Array[] = []
  for (let i = 0; i < keys; i++) {
    a = A.change(a, (x) => A.splice(x, ['text'], i, 0, 'x'))
    mine.push(A.getLastLocalChange(a)!)
    if (i % every === every - 1) {
      ;[b] = A.applyChanges(b, A.getChanges(b, a))
      b = A.change(b, (x) => A.splice(x, ['text'], 0, 0, 'B'))
      ;[a] = A.applyChanges(a, [A.getLastLocalChange(b)!])
    }
  }
  const decoded = mine.map((c) => A.decodeChange(c))
  const changes: CoveredChange[] = decoded.map((c) => ({ hash: c.hash!, deps: c.deps }))
  const last = decoded.at(-1)!
  return {
    doc: a,
    mine,
    cover: {
      bundle: A.saveBundle(
        a,
        changes.map((c) => c.hash),
      ),
      changes,
      actor: last.actor,
      time: last.time,
      empty: false,
    },
  }
}

test("a cover of changes that are no chain: a reader finds exactly them in it, a keeper knows each one's hash and deps", async () => {
  const { ana, ben, close } = await devices()
  try {
    const key = newEpochKey(ws, 'e'.repeat(32))
    const { doc: full, mine, cover } = typedTogether(ana, ben, 300, 40)
    const { item, change } = sealCover(ana, key, ws, doc, cover, m)
    assert.equal(change.n, 300)
    assert.ok(change.deps.length >= 7, `deps outside the cover: Ben's keys and the first change (${change.deps.length})`)
    assert.ok(
      item.k!.byteLength === 32 * 300 && item.kd!.byteLength < 2 * 300 + 64,
      `k ${item.k!.byteLength} B, kd ${item.kd!.byteLength} B`,
    )
    // It crosses the wire's schema as it is.
    const wire = decodeGossip(encodeMessage({ t: 'changes', v: PEER_PROTOCOL_VERSION, ws, doc, items: [item] }), 4 << 20, 'test')
    assert.equal(wire.t, 'changes')
    const got = wire.t === 'changes' ? wire.items[0]! : item

    const read = validateChange(ws, doc, got, member, (id) => (id === key.epochId ? key : null))
    assert.ok(!isRejection(read), reasonOf(read))
    assert.deepEqual(read.covered, cover.changes)
    assert.deepEqual(read.plain, cover.bundle)
    assert.equal(read.effects?.length, 300, 'what each change does, for history')
    // The reader can load it onto what it holds of the rest (the deps outside the cover).
    const mineHashes = new Set(cover.changes.map((c) => c.hash))
    const rest = A.getAllChanges(full).filter((c) => !mineHashes.has(A.decodeChange(c).hash!))
    const there = A.loadIncremental(A.applyChanges(A.init<Text>(), rest)[0], read.plain!)
    assert.deepEqual(A.getHeads(there), A.getHeads(full))
    assert.equal(there.text, full.text)

    const kept = validateChange(ws, doc, got, member, null)
    assert.ok(!isRejection(kept) && kept.plain === null, 'a keeper takes it unopened')
    assert.deepEqual(kept.covered, cover.changes, "and knows every covered change's hash and deps")
    const waiting = validateChange(ws, doc, got, member, () => null)
    assert.ok(isRejection(waiting) && waiting.reason === 'no-key' && waiting.held, 'kept aside until the key comes')
    assert.equal(mine.length, 300)
  } finally {
    close()
  }
})

test('every way a cover can lie is refused with its reason, before or after opening', async () => {
  const { ana, ben, close } = await devices()
  try {
    const key = newEpochKey(ws, 'e'.repeat(32))
    const keyOf = (id: string) => (id === key.epochId ? key : null)
    const { doc: typedDoc, mine, cover } = typedTogether(ana, ben, 60, 20)
    const lastOf = mine.at(-1)!
    const { item } = sealCover(ana, key, ws, doc, cover, m)
    const check = (bad: SignedChange) => reasonOf(validateChange(ws, doc, bad, member, keyOf))
    assert.equal(check(item), 'accepted')
    const flip = (b: Uint8Array, at = b.length - 1): Uint8Array => {
      const c = Uint8Array.from(b)
      c[at]! ^= 1
      return c
    }
    // Altered on the way: the signature covers every field.
    assert.equal(check({ ...item, c: flip(item.c) }), 'bad-signature', 'sealed bytes')
    assert.equal(check({ ...item, k: flip(item.k!, 5) }), 'bad-signature', 'a covered hash')
    // The last change builds on another earlier one (still a well-formed reference): only the signature tells.
    const lastRef = item.kd!.at(-1) === 0 ? 2 : 0
    assert.equal(check({ ...item, kd: Uint8Array.from([...item.kd!.subarray(0, -1), lastRef]) }), 'bad-signature', 'a deps reference')
    assert.equal(check({ ...item, m: [new Uint8Array(32)] }), 'bad-signature', 'membership heads')
    const asRun: SignedChange = { ...item }
    delete asRun.k
    delete asRun.kd
    assert.equal(check(asRun), 'bad-signature', 'passed off as a run')
    // Ben signs Ana's sealed cover as his: it opens only for its author.
    const fields = { e: item.e!, h: item.h!, d: item.d!, m: item.m!, c: item.c, n: item.n!, k: item.k!, kd: item.kd! }
    assert.equal(check(signCover(ben, ws, doc, fields)), 'bad-change', "Ana's cover under Ben's name")

    // Ana signs, as herself, covers that lie: their shape is refused before the signature is checked...
    const lie = (f: Partial<typeof fields>) => check(signCover(ana, ws, doc, { ...fields, ...f }))
    const hashes = cover.changes.map((c) => c.hash)
    const k = (hs: string[]) => Buffer.concat(hs.map(bytesOf))
    assert.equal(lie({ k: k([...hashes.slice(0, -2), hashes[0]!, hashes.at(-1)!]) }), 'bad-change', 'a hash twice')
    assert.equal(lie({ h: bytesOf(hashes[0]!) }), 'bad-change', 'named by another hash than its last')
    assert.equal(lie({ kd: Uint8Array.from([...item.kd!, 0]) }), 'bad-change', 'bytes left over in kd')
    assert.equal(lie({ kd: item.kd!.subarray(0, -1) }), 'bad-change', 'kd cut short')
    assert.equal(lie({ d: [...item.d!, new Uint8Array(32).fill(9)] }), 'bad-change', 'an external dep no change names')
    // ...and what the sealed bundle holds is checked once it is opened.
    const reordered = [...cover.changes.slice(0, 10).reverse(), ...cover.changes.slice(10)]
    const re = encodeCoverDeps(reordered)
    assert.equal(
      lie({ k: k(reordered.map((c) => c.hash)), kd: re.kd, d: re.external.map(bytesOf) }),
      'bad-change',
      "the covered hashes in another order than the bundle's",
    )
    const otherDeps = cover.changes.map((c, i) => (i === 30 ? { ...c, deps: [cover.changes[0]!.hash] } : c))
    const od = encodeCoverDeps(otherDeps)
    assert.equal(lie({ kd: od.kd, d: od.external.map(bytesOf) }), 'bad-change', 'a change with other deps than its own')
    const sealed = (bundle: Uint8Array, kind: 'cover' | 'run' = 'cover') =>
      sealContent(key, bundle, { kind, subject: doc, author: ana.deviceId })
    // Another last keystroke in its place, with the same deps: only its hash differs from what is signed.
    const hers = cover.changes.map((c) => c.hash)
    const before = A.load<Text>(A.save(typedDoc))
    const [upTo] = A.applyChanges(
      A.init<Text>(),
      A.getAllChanges(before).filter((c) => A.decodeChange(c).hash !== hers.at(-1)),
    )
    const sibling = A.change(A.clone(upTo, { actor: A.decodeChange(lastOf).actor }), (x) => A.splice(x, ['text'], 0, 0, 'y'))
    assert.deepEqual(A.decodeChange(A.getLastLocalChange(sibling)!).deps, cover.changes.at(-1)!.deps)
    assert.equal(
      lie({ c: sealed(A.saveBundle(sibling, [...hers.slice(0, -1), A.getHeads(sibling)[0]!])) }),
      'bad-change',
      'another change in the place of one',
    )
    const { doc: other } = typedTogether(ana, ben, 60, 20)
    assert.equal(
      lie({
        c: sealed(
          A.saveBundle(
            other,
            A.getAllChanges(other)
              .slice(-60)
              .map((c) => A.decodeChange(c).hash!),
          ),
        ),
      }),
      'bad-change',
      'a bundle of other changes',
    )
    assert.equal(lie({ c: sealed(cover.bundle, 'run') }), 'bad-change', 'sealed as a run')
    assert.equal(lie({ c: sealed(new TextEncoder().encode('junk')) }), 'bad-change', 'not a bundle')

    // Ana covers one of Ben's changes as hers: refused as a foreign actor once opened.
    const { doc: both } = typedTogether(ana, ben, 40, 20)
    const all = A.getAllChanges(both).map((c) => A.decodeChange(c))
    const withBens = all.slice(-12).map((c) => ({ hash: c.hash!, deps: c.deps }))
    assert.ok(
      all.slice(-12).some((c) => c.actor.startsWith(ben.actorPrefix)),
      "Ben's key is among them",
    )
    const wb = encodeCoverDeps(withBens)
    assert.equal(
      lie({
        c: sealed(
          A.saveBundle(
            both,
            withBens.map((c) => c.hash),
          ),
        ),
        n: 12,
        k: k(withBens.map((c) => c.hash)),
        kd: wb.kd,
        d: wb.external.map(bytesOf),
        h: bytesOf(withBens.at(-1)!.hash),
      }),
      'foreign-actor',
    )
    // A non-member's cover is refused as such.
    const stranger: ChangeJudge = () => ({ ok: false, reason: 'not-member', detail: 'not a member' })
    assert.equal(reasonOf(validateChange(ws, doc, item, stranger, keyOf)), 'not-member')
  } finally {
    close()
  }
})

test("a cover's structure: references only backwards or outside, every external dep named, sizes checked", () => {
  const h = (i: number) => Buffer.alloc(32, i)
  const k = Buffer.concat([h(1), h(2), h(3)])
  const d = [h(9)]
  // change 0 builds on the external dep (2 × 0 + 1), 1 on the one before (0), 2 on the one before and on 0 (2 × 1)
  const ok = coveredChanges({ k, kd: Uint8Array.from([1, 1, 1, 0, 2, 0, 2]), d, h: h(3), n: 3 })
  assert.deepEqual(
    ok.map((c) => c.deps.map((x) => x.slice(0, 2))),
    [['09'], ['01'], ['02', '01']],
  )
  const bad: [string, Parameters<typeof coveredChanges>[0]][] = [
    ['a reference before the first change', { k, kd: Uint8Array.from([1, 0, 1, 0, 1, 0]), d, h: h(3), n: 3 }],
    ['a reference two back from the second change', { k, kd: Uint8Array.from([1, 1, 1, 2, 1, 0]), d, h: h(3), n: 3 }],
    ['past the external deps', { k, kd: Uint8Array.from([1, 3, 1, 0, 1, 0]), d, h: h(3), n: 3 }],
    ['a dep twice', { k, kd: Uint8Array.from([1, 1, 1, 0, 2, 0, 0]), d, h: h(3), n: 3 }],
    ['a hash also an external dep', { k, kd: Uint8Array.from([1, 1, 1, 0, 1, 0]), d: [h(2)], h: h(3), n: 3 }],
    ['k not 32 bytes a change', { k: k.subarray(0, 64), kd: Uint8Array.from([1, 1, 1, 0, 1, 0]), d, h: h(3), n: 3 }],
    ['one change', { k: h(1), kd: Uint8Array.from([1, 1]), d, h: h(1), n: 1 }],
    ['a reference that does not end', { k, kd: Uint8Array.from([1, 0x83, 0x80, 0x80, 0x80, 0x80, 0x80]), d, h: h(3), n: 3 }],
  ]
  for (const [what, f] of bad) assert.throws(() => coveredChanges(f), CoverFormatError, what)
  // The wire's schema refuses k and n that disagree, and k or kd alone.
  const base = { a: `12D3KooW${'x'.repeat(44)}`, s: new Uint8Array(64), c: new Uint8Array(8), e: new Uint8Array(16), h: h(3), d, m: [h(7)] }
  const msg = (item: object) => encodeMessage({ t: 'changes', v: PEER_PROTOCOL_VERSION, ws, doc, items: [item] })
  assert.throws(() => decodeGossip(msg({ ...base, n: 4, k, kd: Uint8Array.from([0]) }), 1 << 20, 'test'), /cover/)
  assert.throws(() => decodeGossip(msg({ ...base, n: 3, k }), 1 << 20, 'test'), /cover/)
})
