/**
 * The gate of sealed changes (v3), without a network: every way a sealed envelope can be wrong is
 * refused with its own reason, and the checks that need no key come first. The judge here is a
 * stand-in that says "member" for the two devices (the membership judgement has its own tests).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { newActorId, type Device } from '../identity/device.ts'
import { newEpochKey } from '../crypto/epoch.ts'
import { sealContent } from '../crypto/seal.ts'
import { twoDevices } from '../test/helpers.ts'
import type { SignedChange } from '../wire/peer-protocol.ts'
import type { ChangeJudge } from '../workspace/workspaces.ts'
import { isRejection, sealChange, signSealed, validateChange, type Rejection } from './change-validation.ts'

const ws = 'a'.repeat(32)
const doc = 'b'.repeat(32)
const m = ['c'.repeat(64)]
const member: ChangeJudge = () => ({ ok: true })

const devices = twoDevices

/** The second change of a new document by `device`: one with a dep. */
function change(device: Device, text: string): Uint8Array {
  const first = A.change(A.init<{ text: string }>({ actor: newActorId(device) }), (x) => {
    x.text = ''
  })
  return A.getLastLocalChange(A.change(first, (x) => A.splice(x, ['text'], 0, 0, text)))!
}

const reasonOf = (v: object): string => (isRejection(v) ? (v as Rejection).reason : 'accepted')

test('a sealed change opens for a reader with the key, is taken unopened by a keeper, and waits without the key', async () => {
  const { ana, close } = await devices()
  try {
    const key = newEpochKey(ws, 'e'.repeat(32))
    const plain = change(ana, 'hello')
    const { item } = sealChange(ana, key, ws, doc, plain, m)
    assert.ok(!Buffer.from(item.c).includes('hello'), 'sealed')
    const opened = validateChange(ws, doc, item, member, (id) => (id === key.epochId ? key : null))
    assert.ok(!isRejection(opened))
    assert.deepEqual(opened.plain, plain)
    assert.equal(opened.hash, A.decodeChange(plain).hash)
    const kept = validateChange(ws, doc, item, member, null)
    assert.ok(!isRejection(kept) && kept.plain === null && kept.hash === opened.hash, 'a keeper keeps it unopened')
    const waiting = validateChange(ws, doc, item, member, () => null)
    assert.equal(reasonOf(waiting), 'no-key')
    assert.ok(isRejection(waiting) && waiting.held, 'kept aside until the key comes')
  } finally {
    close()
  }
})

test('every altered sealed envelope is refused with its reason, before or after opening', async () => {
  const { ana, ben, close } = await devices()
  try {
    const key = newEpochKey(ws, 'e'.repeat(32))
    const other = newEpochKey(ws, 'f'.repeat(32))
    const keyOf = (id: string) => (id === key.epochId ? key : id === other.epochId ? other : null)
    const plain = change(ana, 'hello')
    const { item } = sealChange(ana, key, ws, doc, plain, m)
    const flip = (b: Uint8Array): Uint8Array => {
      const c = Uint8Array.from(b)
      c[c.length - 1]! ^= 1
      return c
    }
    const cases: [string, SignedChange, string][] = [
      ['a flipped bit in the sealed bytes', { ...item, c: flip(item.c) }, 'bad-signature'],
      ['another epoch claimed', { ...item, e: Buffer.from(other.epochId, 'hex') }, 'bad-signature'],
      ['another hash claimed', { ...item, h: new Uint8Array(32) }, 'bad-signature'],
      ['a dep dropped', { ...item, d: [] }, 'bad-signature'],
      ['other membership heads claimed', { ...item, m: [new Uint8Array(32)] }, 'bad-signature'],
      ['signed by someone else', { ...item, a: ben.deviceId }, 'bad-signature'],
    ]
    for (const [what, bad, reason] of cases) assert.equal(reasonOf(validateChange(ws, doc, bad, member, keyOf)), reason, what)
    // Moved to another document or workspace: the signature binds both.
    assert.equal(reasonOf(validateChange(ws, 'd'.repeat(32), item, member, keyOf)), 'bad-signature', 'another document')
    assert.equal(reasonOf(validateChange('9'.repeat(32), doc, item, member, keyOf)), 'bad-signature', 'another workspace')
    // A member (Ben) re-signs Ana's sealed bytes as his own: they open only for their author, Ana.
    const resigned = signSealed(ben, ws, doc, { e: item.e!, h: item.h!, d: item.d!, m: item.m!, c: item.c })
    assert.equal(reasonOf(validateChange(ws, doc, resigned, member, keyOf)), 'bad-change', "Ana's sealed bytes under Ben's name")
    // Ben seals Ana's plain change (its actor is Ana's) as his own: refused as a foreign actor once opened.
    assert.equal(reasonOf(validateChange(ws, doc, sealChange(ben, key, ws, doc, plain, m).item, member, keyOf)), 'foreign-actor')
    // Ana signs, as herself, envelopes that lie about what they hold: refused once opened.
    const sealed = (content: Uint8Array, k = key) => sealContent(k, content, { kind: 'change', subject: doc, author: ana.deviceId })
    const lie = (fields: Partial<SignedChange>) =>
      signSealed(ana, ws, doc, { e: item.e!, h: item.h!, d: item.d!, m: item.m!, c: item.c, ...fields })
    assert.equal(reasonOf(validateChange(ws, doc, lie({}), member, keyOf)), 'accepted', 'the honest fields')
    assert.equal(
      reasonOf(validateChange(ws, doc, lie({ c: sealed(change(ana, 'other')) }), member, keyOf)),
      'bad-change',
      'another hash inside',
    )
    assert.equal(reasonOf(validateChange(ws, doc, lie({ d: [] }), member, keyOf)), 'bad-change', 'deps other than signed')
    assert.equal(
      reasonOf(validateChange(ws, doc, lie({ c: sealed(new TextEncoder().encode('junk')) }), member, keyOf)),
      'bad-change',
      'not a change',
    )
    assert.equal(
      reasonOf(validateChange(ws, doc, lie({ c: sealed(plain, other) }), member, keyOf)),
      'bad-change',
      'sealed under another key than named',
    )
    // A non-member's envelope is refused as such, signature or not.
    const stranger: ChangeJudge = () => ({ ok: false, reason: 'not-member', detail: 'not a member' })
    assert.equal(reasonOf(validateChange(ws, doc, { ...item, c: flip(item.c) }, stranger, keyOf)), 'not-member')
  } finally {
    close()
  }
})
