import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generateKeyPair, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id'
import { x25519 } from '@noble/curves/ed25519.js'
import { newEpochKey } from './epoch.ts'
import { CryptoError, type CryptoErrorKind } from './errors.ts'
import { LOCKBOX_BYTES, type LockboxOwner, lockboxKeyPair, lockboxPublicKey, openLockbox, sealTo } from './lockbox.ts'

async function newDevice(): Promise<LockboxOwner> {
  const privateKey = await generateKeyPair('Ed25519')
  return { deviceId: peerIdFromPrivateKey(privateKey).toString(), privateKey }
}

async function assertFails(p: Promise<unknown>, kind: CryptoErrorKind, why: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof CryptoError && e.kind === kind, why)
}

test('the lockbox public key derived from a PeerId equals the one from the private key', async () => {
  for (let i = 0; i < 20; i++) {
    const device = await newDevice()
    const { publicKey, secretKey } = lockboxKeyPair(device)
    assert.deepEqual(lockboxPublicKey(device.deviceId), publicKey)
    // Checked against X25519 itself: the converted secret's public key is the converted public key.
    assert.deepEqual(x25519.getPublicKey(secretKey), publicKey)
  }
})

test('a lockbox carries the epoch key to its recipient', async () => {
  const a = await newDevice()
  const epoch = newEpochKey('ws-1', 'e1')
  const box = await sealTo(a.deviceId, epoch)
  assert.equal(box.byteLength, LOCKBOX_BYTES)
  assert.deepEqual(await openLockbox(a, box, { workspaceId: 'ws-1', epochId: 'e1' }), epoch)
  assert.notDeepEqual(await sealTo(a.deviceId, epoch), box, 'a fresh ephemeral key each time')
})

test('a lockbox sealed to A opens neither for B nor for another workspace or epoch', async () => {
  const [a, b] = [await newDevice(), await newDevice()]
  const ctx = { workspaceId: 'ws-1', epochId: 'e1' }
  const box = await sealTo(a.deviceId, newEpochKey('ws-1', 'e1'))
  await assertFails(openLockbox(b, box, ctx), 'auth-failed', 'another device')
  await assertFails(openLockbox(a, box, { ...ctx, workspaceId: 'ws-2' }), 'auth-failed', 'another workspace')
  await assertFails(openLockbox(a, box, { ...ctx, epochId: 'e2' }), 'auth-failed', 'another epoch')
  // B holding A's box cannot claim to be A: its key is not A's (the recipient id is bound in `info`).
  await assert.rejects(openLockbox({ deviceId: a.deviceId, privateKey: b.privateKey }, box, ctx), RangeError)
})

test('a truncated, extended or bit-flipped lockbox fails with a kind', async () => {
  const a = await newDevice()
  const ctx = { workspaceId: 'ws-1', epochId: 'e1' }
  const box = await sealTo(a.deviceId, newEpochKey('ws-1', 'e1'))
  await assertFails(openLockbox(a, box.subarray(0, LOCKBOX_BYTES - 1), ctx), 'malformed', 'truncated')
  await assertFails(openLockbox(a, new Uint8Array([...box, 0]), ctx), 'malformed', 'extended')
  await assertFails(openLockbox(a, new Uint8Array(0), ctx), 'malformed', 'empty')
  for (let bit = 0; bit < LOCKBOX_BYTES * 8; bit += 3) {
    const flipped = box.slice()
    flipped[bit >> 3]! ^= 1 << (bit & 7)
    await assertFails(openLockbox(a, flipped, ctx), 'auth-failed', `bit ${bit} flipped`)
  }
  await assertFails(openLockbox(a, new Uint8Array(LOCKBOX_BYTES), ctx), 'auth-failed', 'all zero (a low-order enc)')
})

test('a device id without a usable Ed25519 key cannot be sealed to', async () => {
  const epoch = newEpochKey('ws-1', 'e1')
  const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()
  const identityPoint = new Uint8Array(32)
  identityPoint[0] = 1
  const smallOrder = peerIdFromPublicKey(publicKeyFromRaw(identityPoint)).toString()
  for (const id of [secp, smallOrder, 'not a peer id', '']) {
    const malformed = (e: unknown): boolean => e instanceof CryptoError && e.kind === 'malformed'
    assert.throws(() => lockboxPublicKey(id), malformed, id)
    await assertFails(sealTo(id, epoch), 'malformed', id)
  }
})

test('cost of sealing and opening a lockbox (printed, not asserted)', async (t) => {
  const a = await newDevice()
  const epoch = newEpochKey('ws-1', 'e1')
  const ctx = { workspaceId: 'ws-1', epochId: 'e1' }
  const box = await sealTo(a.deviceId, epoch)
  for (let i = 0; i < 50; i++) await openLockbox(a, await sealTo(a.deviceId, epoch), ctx)
  const n = 200
  let start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await sealTo(a.deviceId, epoch)
  const seal = Number(process.hrtime.bigint() - start) / 1000 / n
  start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await openLockbox(a, box, ctx)
  const open = Number(process.hrtime.bigint() - start) / 1000 / n
  t.diagnostic(`lockbox: seal ${seal.toFixed(0)} µs, open ${open.toFixed(0)} µs (once per member device per rotation)`)
})
