import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CHAIN_BOX_BYTES, type ChainLink, type EpochKey, EpochKeyring, newEpochKey, openChainLink, sealChainLink, subkey } from './epoch.ts'
import { CryptoError, type CryptoErrorKind } from './errors.ts'
import { openContent, sealContent } from './seal.ts'

function assertFails(fn: () => unknown, kind: CryptoErrorKind, why: string): void {
  assert.throws(fn, (e: unknown) => e instanceof CryptoError && e.kind === kind, why)
}

test('new epoch keys are 32 random bytes, and each purpose gets its own subkey', () => {
  const keys = Array.from({ length: 100 }, (_, i) => newEpochKey('ws-1', `e${i}`))
  assert.ok(keys.every((k) => k.key.byteLength === 32))
  assert.equal(new Set(keys.map((k) => Buffer.from(k.key).toString('hex'))).size, 100)
  const k = keys[0]!
  const hex = [k.key, subkey(k, 'content'), subkey(k, 'chain')].map((b) => Buffer.from(b).toString('hex'))
  assert.equal(new Set(hex).size, 3, 'content and chain links never share an AEAD key with each other or the epoch key')
  assert.throws(() => subkey({ ...k, key: new Uint8Array(16) }, 'content'), RangeError)
})

test('a chain link opens to the older key only under the newer key, its workspace and its epoch pair', () => {
  const older = newEpochKey('ws-1', 'e1')
  const newer = newEpochKey('ws-1', 'e2')
  const link = sealChainLink(newer, older)
  assert.equal(link.box.byteLength, CHAIN_BOX_BYTES)
  assert.deepEqual(openChainLink(newer, link), older)
  assertFails(() => openChainLink(newEpochKey('ws-1', 'e2'), link), 'auth-failed', 'another newer key')
  assertFails(() => openChainLink({ ...newer, workspaceId: 'ws-2' }, link), 'auth-failed', 'another workspace')
  assertFails(() => openChainLink({ ...newer, epochId: 'e3' }, { ...link, newerEpochId: 'e3' }), 'auth-failed', 'another newer epoch id')
  assertFails(() => openChainLink(newer, { ...link, olderEpochId: 'e0' }), 'auth-failed', 'another older epoch id')
  // The older key cannot open the newer one: a removed device holding old keys learns nothing newer.
  assertFails(() => openChainLink({ ...older, epochId: 'e2' }, link), 'auth-failed', 'the older key as the newer')
  assertFails(() => openChainLink(newer, { ...link, box: link.box.subarray(1) }), 'malformed', 'truncated')
  const flipped = link.box.slice()
  flipped[40]! ^= 1
  assertFails(() => openChainLink(newer, { ...link, box: flipped }), 'auth-failed', 'a bit flipped')
  assert.throws(() => sealChainLink(newer, newEpochKey('ws-2', 'e1')), RangeError)
})

test('a late joiner holding only the newest key recovers 5 generations back and reads the oldest content', () => {
  const epochs: EpochKey[] = Array.from({ length: 6 }, (_, i) => newEpochKey('ws-1', `e${i}`))
  const links: ChainLink[] = epochs.slice(1).map((e, i) => sealChainLink(e, epochs[i]!))
  const where = { kind: 'change', subject: 'doc-1', author: 'A' } as const
  const history = sealContent(epochs[0]!, new TextEncoder().encode('written before any rotation'), where)

  const ring = new EpochKeyring('ws-1')
  ring.add({ workspaceId: 'ws-1', epochId: 'e5', key: epochs[5]!.key.slice() })
  // Links arrive in any order (gossip, catch-up): oldest first is the worst case for one pass.
  const added = ring.recover([...links])
  assert.deepEqual(added.map((e) => e.epochId).sort(), ['e0', 'e1', 'e2', 'e3', 'e4'])
  for (const e of epochs) assert.deepEqual(ring.get(e.epochId).key, e.key)
  assert.equal(new TextDecoder().decode(openContent(ring.get('e0'), history, where)), 'written before any rotation')
  assert.deepEqual(ring.recover(links), [], 'nothing more to open')

  // Holding a middle key recovers only what lies behind it.
  const middle = new EpochKeyring('ws-1')
  middle.add(epochs[2]!)
  const behind = middle.recover(links.toReversed())
  assert.deepEqual(behind.map((e) => e.epochId).sort(), ['e0', 'e1'])
  assertFails(() => middle.get('e3'), 'unknown-epoch', 'newer than anything held')
})

test('the keyring says unknown-epoch for what it lacks, and refuses a second, different key for one epoch', () => {
  const ring = new EpochKeyring('ws-1')
  const e1 = newEpochKey('ws-1', 'e1')
  assertFails(() => ring.get('e1'), 'unknown-epoch', 'empty keyring')
  assert.equal(ring.has('e1'), false)
  ring.add(e1)
  ring.add({ ...e1, key: e1.key.slice() }) // the same key again (another lockbox, a chain link): fine
  assert.equal(ring.get('e1'), e1)
  assertFails(() => ring.add(newEpochKey('ws-1', 'e1')), 'auth-failed', 'two keys for one epoch')
  assert.deepEqual(ring.get('e1').key, e1.key, 'the first key is kept')
  assert.throws(() => ring.add(newEpochKey('ws-2', 'e9')), RangeError)
  // A bad link from a held epoch throws rather than being skipped silently.
  const bad = { ...sealChainLink(e1, newEpochKey('ws-1', 'e0')), box: new Uint8Array(CHAIN_BOX_BYTES) }
  assertFails(() => ring.recover([bad]), 'auth-failed', 'a junk link')
})
