/**
 * Changes that decode but that Automerge cannot apply (sync/quarantine.ts), taken from a teammate over
 * a real SQLite file: the document stays readable, the changes that came with one are kept, it is
 * removed from the log and dropped if it comes again, and the document loads the same after a restart;
 * also when it comes inside a cover (covers.ts), one bundle with changes that do apply.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { tempDir } from '../test/helpers.ts'
import { documentsFixture } from './documents-fixture.ts'
import { isRejection, sealChange, sealCover, validateChange, type ValidChange } from './change-validation.ts'
import { DECODE_BELOW_BYTES, readChange } from './change-read.ts'
import { sha256 } from '../identity/keys.ts'
import type { Log } from '../log.ts'

type Content = { title: string; text: string }

async function setup(dir: string, log?: Log) {
  const fx = await documentsFixture(dir, log ? { log } : {})
  const ws = await fx.workspaces.create('W', 'me')
  const d = fx.docs()
  const docId = (await d.create(ws, 'T', 'hello')).id
  const base = A.load<Content>(d.hold(docId).bytes)
  d.release(docId)
  let n = 0
  /** A change by another session of this device (as a teammate's arrives), checked as the network path checks it. */
  const teammate = (fn: (x: Content) => void): { bytes: Uint8Array; valid: ValidChange } => {
    const next = A.change(A.clone(base, { actor: `${fx.device.actorPrefix}${(++n).toString(16).padStart(16, '0')}` }), fn)
    return checked(A.getLastLocalChange(next)!)
  }
  const checked = (bytes: Uint8Array): { bytes: Uint8Array; valid: ValidChange } => {
    const { item } = sealChange(fx.device, fx.keys.current(ws)!, ws, docId, bytes, fx.workspaces.heads(ws))
    const v = validateChange(ws, docId, item, fx.workspaces.judge(ws), fx.keys.lookup(ws))
    assert.ok(!isRejection(v), isRejection(v) ? v.detail : '')
    return { bytes, valid: v }
  }
  /** `fn`'s change with its first operation pointed at `field` = an op id nobody made: it decodes, and does not apply. */
  const poison = (fn: (x: Content) => void, field: 'elemId' | 'obj'): { bytes: Uint8Array; valid: ValidChange; hash: string } => {
    const decoded = A.decodeChange(teammate(fn).bytes)
    ;(decoded.ops[0] as Record<string, unknown>)[field] = `99@${'ab'.repeat(16)}`
    const bytes = A.encodeChange(decoded)
    return { ...checked(bytes), hash: A.decodeChange(bytes).hash }
  }
  /**
   * A large change by a teammate (read by its header, change-read.ts) with its operations replaced by
   * garbage and its checksum made right: its header reads, its operations do not decode.
   */
  const garbled = (): { bytes: Uint8Array; valid: ValidChange; hash: string } => {
    const bytes = Uint8Array.from(teammate((x) => A.splice(x, ['text'], 0, 0, 'y'.repeat(DECODE_BELOW_BYTES))).bytes)
    for (let i = 100; i < bytes.byteLength; i++) bytes[i] = (i * 131) & 0xff
    bytes.set(sha256(bytes.subarray(8)).subarray(0, 4), 4)
    assert.throws(() => A.decodeChange(bytes), 'the operations do not decode')
    return { ...checked(bytes), hash: sha256(bytes.subarray(8)).toString('hex') }
  }
  /** A large change cut short by one byte, sealed and signed as if whole (with the whole one's hash): what `validateChange` says. */
  const truncated = () => {
    const whole = teammate((x) => A.splice(x, ['text'], 0, 0, 'z'.repeat(DECODE_BELOW_BYTES))).bytes
    const cut = whole.subarray(0, whole.byteLength - 1)
    const { item } = sealChange(fx.device, fx.keys.current(ws)!, ws, docId, cut, fx.workspaces.heads(ws), readChange(whole))
    return validateChange(ws, docId, item, fx.workspaces.judge(ws), fx.keys.lookup(ws))
  }
  /**
   * A cover by this device (other sessions of it, as a teammate's device seals one) of `g` (a key), `p` (the
   * next key of the same session, its insert pointed after a character of a change `e` nobody here holds: it
   * applies where `e` is, so it could be bundled, and nowhere else) and `h` (a key of a third session on `g`
   * alone), checked as a reader checks a cover.
   */
  const poisonedCover = (): { valid: ValidChange; g: string; p: string; h: string } => {
    const session = () => `${fx.device.actorPrefix}${(++n).toString(16).padStart(16, '0')}`
    const e = A.getLastLocalChange(A.change(A.clone(base, { actor: 'ee'.repeat(16) }), (x) => A.splice(x, ['text'], 2, 0, 'E')))!
    const eOp = A.decodeChange(e)
    const y1 = A.change(A.clone(base, { actor: session() }), (x) => A.splice(x, ['text'], 3, 0, 'g'))
    const g = A.getLastLocalChange(y1)!
    const p = A.decodeChange(A.getLastLocalChange(A.change(y1, (x) => A.splice(x, ['text'], 4, 0, 'P')))!)
    ;(p.ops[0] as Record<string, unknown>).elemId = `${eOp.startOp}@${eOp.actor}`
    const pBytes = A.encodeChange(p)
    const h = A.getLastLocalChange(A.change(A.clone(y1, { actor: session() }), (x) => A.splice(x, ['text'], 0, 0, 'h')))!
    const [where] = A.applyChanges(A.clone(base), [e, g, pBytes, h])
    const covered = [g, pBytes, h].map((c) => A.decodeChange(c))
    const { item } = sealCover(
      fx.device,
      fx.keys.current(ws)!,
      ws,
      docId,
      {
        bundle: A.saveBundle(
          where,
          covered.map((c) => c.hash!),
        ),
        changes: covered.map((c) => ({ hash: c.hash!, deps: c.deps })),
        actor: covered[2]!.actor,
        time: covered[2]!.time,
        empty: false,
      },
      fx.workspaces.heads(ws),
    )
    const v = validateChange(ws, docId, item, fx.workspaces.judge(ws), fx.keys.lookup(ws))
    assert.ok(!isRejection(v), isRejection(v) ? v.detail : '')
    assert.equal(v.covered?.length, 3, 'checked as a cover')
    const [gh, ph, hh] = covered.map((c) => c.hash!)
    return { valid: v, g: gh!, p: ph!, h: hh! }
  }
  return { ...fx, ws, d, docId, teammate, poison, garbled, truncated, poisonedCover }
}

test("a teammate's keystroke that does not apply is left out and removed from the log; the keystroke beside it stays, the same change coming again is dropped (after a restart too), and a restart loads the same", async () => {
  const dir = tempDir()
  try {
    const { store, ws, d, docId, teammate, poison, docs } = await setup(dir.path)
    // Both edit the text only: they are taken without being applied (doc-cache.ts `Loaded.defer`), and stored.
    const bad = poison((x) => A.splice(x, ['text'], 3, 0, 'P'), 'elemId')
    const good = teammate((x) => A.splice(x, ['text'], 5, 0, '!'))
    await d.ingest(ws, docId, [bad.valid, good.valid])
    await d.settle()
    assert.equal(d.deferred(docId), 2, 'taken, not applied yet')
    assert.ok(store.hasChange(docId, bad.hash), 'stored with the batch')
    // Reading applies them: the one that does not apply is left out.
    assert.equal(d.content(docId).text, 'hello!')
    await store.write(() => undefined)
    assert.equal(store.hasChange(docId, bad.hash), false, 'removed from the log')
    assert.ok(store.hasChange(docId, good.valid.hash))
    await d.ingest(ws, docId, [bad.valid])
    await d.settle()
    assert.equal(store.hasChange(docId, bad.hash), false, 'dropped when it comes again')
    assert.equal(d.content(docId).text, 'hello!')
    await d.close()
    const again = docs()
    assert.equal(again.content(docId).text, 'hello!')
    // The store remembers it: after a restart it is dropped as it comes.
    await again.ingest(ws, docId, [bad.valid])
    await again.settle()
    assert.equal(store.hasChange(docId, bad.hash), false, 'dropped after a restart too')
    await again.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('a batch holding a change that does not apply at once: the others are applied and shown to an open window, it is left out', async () => {
  const dir = tempDir()
  try {
    const { store, ws, d, docId, teammate, poison } = await setup(dir.path)
    const shown: Uint8Array[] = []
    d.on('changes', (id, changes) => id === docId && shown.push(...changes))
    d.hold(docId) // a window has it open
    // An edit of an object nobody made is not a keystroke: it is applied at once, with the title change beside it.
    const bad = poison((x) => A.splice(x, ['text'], 0, 0, 'X'), 'obj')
    const title = teammate((x) => A.splice(x, ['title'], 1, 0, 'itle'))
    await d.ingest(ws, docId, [title.valid, bad.valid])
    await d.settle()
    const content = d.content(docId)
    assert.deepEqual([content.title, content.text], ['Title', 'hello'])
    assert.ok(
      shown.some((c) => A.decodeChange(c).hash === title.valid.hash),
      'the window is shown the title change',
    )
    assert.ok(!shown.some((c) => A.decodeChange(c).hash === bad.hash), 'and not the one that does not apply')
    await store.write(() => undefined)
    assert.equal(store.hasChange(docId, bad.hash), false)
    assert.ok(store.hasChange(docId, title.valid.hash))
    await d.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test("a teammate's large change whose header reads and whose operations do not decode: taken, then left out as it is applied; the document stays readable", async () => {
  const dir = tempDir()
  try {
    const { store, ws, d, docId, teammate, garbled } = await setup(dir.path)
    const bad = garbled()
    const good = teammate((x) => A.splice(x, ['text'], 5, 0, '!'))
    await d.ingest(ws, docId, [bad.valid, good.valid])
    await d.settle()
    assert.equal(d.content(docId).text, 'hello!')
    await store.write(() => undefined)
    assert.equal(store.hasChange(docId, bad.hash), false, 'removed from the log')
    assert.ok(store.hasChange(docId, good.valid.hash))
    await d.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test("a member's large change that is not a whole chunk is refused as bad-change by the checks", async () => {
  const dir = tempDir()
  try {
    const { store, d, truncated } = await setup(dir.path)
    const verdict = truncated()
    assert.ok(isRejection(verdict), 'refused')
    assert.equal(verdict.reason, 'bad-change')
    assert.match(verdict.detail, /not an Automerge change \(the chunk says \d+ bytes and \d+ follow its header\)/)
    await d.close()
    store.close()
  } finally {
    dir.remove()
  }
})

test('a cover holding a change that does not apply: its other changes are kept and shown, that one is left out and removed from the log, the cover coming again changes nothing, and a restart loads the same', async () => {
  const dir = tempDir()
  try {
    /** What was found not to apply, as the peer's log says it each time. */
    const refusals: string[] = []
    /** Loads that tried the whole log and failed before taking what applies. */
    let failedLoads = 0
    const { store, ws, d, docId, poisonedCover, docs } = await setup(dir.path, (_, m) => {
      if (/do not apply/.test(m)) refusals.push(m)
      if (/does not apply at once/.test(m)) failedLoads++
    })
    const cover = poisonedCover()
    const shown = new Set<string>()
    d.on('changes', (id, changes) => {
      if (id === docId) for (const c of changes) shown.add(A.decodeChange(c).hash!)
    })
    d.hold(docId) // a window has it open
    await d.ingest(ws, docId, [cover.valid])
    await d.settle()
    assert.equal(d.content(docId).text, 'hhelglo', "the cover's other keys are in")
    assert.ok(shown.has(cover.g) && shown.has(cover.h), 'and shown to the window')
    assert.ok(!shown.has(cover.p), 'not the one that does not apply')
    await store.write(() => undefined)
    assert.equal(store.hasChange(docId, cover.p), false, 'the one that does not apply is removed from the log')
    assert.ok(store.hasChange(docId, cover.g) && store.hasChange(docId, cover.h), 'the others keep their rows')
    await d.ingest(ws, docId, [cover.valid])
    await d.settle()
    assert.equal(store.hasChange(docId, cover.p), false, 'the same cover again is dropped')
    assert.equal(d.content(docId).text, 'hhelglo')
    d.release(docId)
    await d.close()
    const again = docs()
    assert.equal(again.content(docId).text, 'hhelglo', 'loads the same after a restart')
    await again.ingest(ws, docId, [cover.valid])
    await again.settle()
    assert.equal(store.hasChange(docId, cover.p), false, 'dropped after a restart too')
    assert.equal(again.content(docId).text, 'hhelglo')
    // Found once: the cover coming again is not tried again, and a load takes the cover's changes one by one
    // (the load after the restart does not try the whole bundle first).
    assert.equal(refusals.length, 1, refusals.join('; '))
    assert.match(refusals[0]!, /: 1 stored changes do not apply/)
    assert.equal(failedLoads, 1, 'one load found the log did not apply at once')
    await again.close()
    store.close()
  } finally {
    dir.remove()
  }
})
