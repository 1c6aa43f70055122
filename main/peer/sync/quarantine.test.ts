/**
 * Changes that decode but that Automerge cannot apply (sync/quarantine.ts), taken from a teammate over
 * a real SQLite file: the document stays readable, the changes that came with one are kept, it is
 * removed from the log and dropped if it comes again, and the document loads the same after a restart.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { tempDir } from '../test/helpers.ts'
import { documentsFixture } from './documents-fixture.ts'
import { isRejection, sealChange, validateChange, type ValidChange } from './change-validation.ts'
import { DECODE_BELOW_BYTES, readChange } from './change-read.ts'
import { sha256 } from '../identity/keys.ts'

type Content = { title: string; text: string }

async function setup(dir: string) {
  const fx = await documentsFixture(dir)
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
  return { ...fx, ws, d, docId, teammate, poison, garbled, truncated }
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
