import { encodeMessage } from '../wire/peer-protocol.ts'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { encode } from 'cborg'
import { GrapevineError } from '../../../shared/protocol.ts'
import { MAX_INVITE_CODE_CHARS } from '../../../shared/limits.ts'
import { tempDir } from '../test/helpers.ts'
import { SqliteStore } from '../store/sqlite-store.ts'
import { loadOrCreateDevice } from '../identity/device.ts'
import type { InvitePayload } from '../wire/peer-protocol.ts'
import type { InviteRow } from '../store/types.ts'
import { checkInvite, decodeInvite, encodeInvite, inviteExpiry, inviteState, secretHash } from './invites.ts'

const NOW = 1_750_000_000_000
const DAY = 24 * 60 * 60 * 1000
const WS = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
const INVITER = '12D3KooWGRYZ2YZQRGz6jKJNJ6LvLcSf6YwBLFLmPMjSbrK5q5tH'
const secret = (seed: string): Uint8Array => new Uint8Array(createHash('sha256').update(seed).digest())

function payload(extra: Partial<InvitePayload> = {}): InvitePayload {
  return {
    v: 1,
    ws: WS,
    name: 'Team',
    inviter: INVITER,
    invite: '0123456789abcdef',
    secret: secret('s1'),
    exp: NOW + 60_000,
    addrs: ['/ip4/192.168.1.5/tcp/4001', `/ip4/127.0.0.1/tcp/4001/p2p/${INVITER}`],
    ...extra,
  }
}

const plain = (p: InvitePayload) => ({ ...p, secret: [...p.secret] })

function invalid(input: string, code: 'invite-invalid' | 'invite-expired' = 'invite-invalid'): void {
  assert.throws(
    () => decodeInvite(input, NOW),
    (err: unknown) => {
      assert.ok(err instanceof GrapevineError, `a GrapevineError for ${JSON.stringify(input.slice(0, 60))}, got ${String(err)}`)
      assert.equal(err.code, code, `${err.message} for ${JSON.stringify(input.slice(0, 60))}`)
      assert.ok(err.message.length > 10)
      return true
    },
  )
}

test('an invite round-trips as a code and as a grapevine:// link', () => {
  const p = payload()
  const { code, link } = encodeInvite(p)
  assert.match(code, /^GV1\.[A-Za-z0-9_-]+$/)
  assert.equal(link, `grapevine://join/${code}`)
  assert.ok(code.length < MAX_INVITE_CODE_CHARS)
  assert.deepEqual(plain(decodeInvite(code, NOW)), plain(p))
  assert.deepEqual(plain(decodeInvite(link, NOW)), plain(p))
  assert.deepEqual(plain(decodeInvite(`  ${link}/\n`, NOW)), plain(p), 'pasted with spaces and a trailing slash')
  assert.deepEqual(plain(decodeInvite(`grapevine://join/${encodeURIComponent(code)}`, NOW)), plain(p))
  assert.deepEqual(plain(decodeInvite(encodeInvite(payload({ addrs: [] })).code, NOW)), plain(payload({ addrs: [] })))
})

test('a real device id works as the inviter', async () => {
  const dir = tempDir()
  try {
    const store = new SqliteStore(join(dir.path, 'inviter.db'))
    const device = await loadOrCreateDevice(store).finally(() => store.close())
    const p = payload({ inviter: device.deviceId })
    assert.equal(decodeInvite(encodeInvite(p).link, NOW).inviter, device.deviceId)
  } finally {
    dir.remove()
  }
})

test('garbage is invite-invalid', () => {
  for (const input of [
    '',
    '   ',
    'hello',
    'GV1.',
    'GV1.!!!!',
    'GV1.abc def',
    'grapevine://join/',
    'grapevine://join/hello',
    `GV1.${Buffer.from('not cbor at all').toString('base64url')}`,
    `GV1.${Buffer.from(encode({ hello: 'world' })).toString('base64url')}`,
    `GV1.${Buffer.from(encode([1, 2, 3])).toString('base64url')}`,
    `GV1.${Buffer.from(encode({ ...payload(), v: 2 })).toString('base64url')}`,
    `GV1.${Buffer.from(encode({ ...payload(), inviter: 'has spaces in it' })).toString('base64url')}`,
  ])
    invalid(input)
})

test('a truncated code is invite-invalid', () => {
  const { code, link } = encodeInvite(payload())
  for (const cut of [1, 2, 5, Math.floor(code.length / 2), code.length - 5]) invalid(code.slice(0, code.length - cut))
  invalid(link.slice(0, link.length - 10))
})

test('an oversized code is invite-invalid before it is decoded', () => {
  invalid(`GV1.${'A'.repeat(MAX_INVITE_CODE_CHARS)}`)
  invalid(`grapevine://join/GV1.${'A'.repeat(MAX_INVITE_CODE_CHARS)}`)
  invalid('x'.repeat(10 * 1024 * 1024))
  const big = payload({ addrs: Array.from({ length: 16 }, (_, i) => `/dns4/${'h'.repeat(200)}${i}.example/tcp/4001`) })
  assert.throws(() => encodeInvite(big), /over the limit/, 'the inviter never makes a code too long to be accepted')
  invalid(`GV1.${Buffer.from(encodeMessage(big)).toString('base64url')}`)
})

test('a wrong prefix is invite-invalid', () => {
  const { code } = encodeInvite(payload())
  const body = code.slice('GV1.'.length)
  for (const input of [`GV2.${body}`, `gv1.${body}`, body, `GV1${body}`, `https://join/${code}`, `grapevine://invite/${code}`])
    invalid(input)
})

test('a link with a malformed %-escape is invite-invalid', {}, () => {
  invalid('grapevine://join/GV1.%E0%A4%A')
})

test('an invite whose secret is not exactly 32 bytes is invite-invalid', {}, () => {
  for (const n of [0, 31]) invalid(`GV1.${Buffer.from(encode({ ...payload(), secret: new Uint8Array(n) })).toString('base64url')}`)
})

test('an expired invite is invite-expired, at and after its expiry', () => {
  invalid(encodeInvite(payload({ exp: NOW })).code, 'invite-expired')
  invalid(encodeInvite(payload({ exp: NOW - 1 })).link, 'invite-expired')
  assert.equal(decodeInvite(encodeInvite(payload({ exp: NOW + 1 })).code, NOW).exp, NOW + 1)
})

test('checkInvite: unknown, wrong workspace, wrong secret, used, expired, valid', async () => {
  const dir = tempDir()
  const store = new SqliteStore(join(dir.path, 'inviter.db'))
  try {
    const s1 = secret('s1')
    await store.write(() => {
      store.putWorkspace({ id: WS, name: 'Team', ownerId: INVITER, createdAt: NOW, joinedAt: NOW })
      store.putInvite({
        id: 'inv1',
        workspaceId: WS,
        secretHash: secretHash(s1),
        role: 'editor',
        createdAt: NOW,
        expiresAt: NOW + 1000,
        usedAt: null,
        usedBy: null,
        requireApproval: false,
        revokedAt: null,
        declinedAt: null,
        declinedBy: null,
      })
    })
    const row = () => store.getInvite('inv1')
    const code = (r: ReturnType<typeof checkInvite>) => r?.code ?? null
    assert.equal(checkInvite(row(), WS, s1, NOW), null)
    assert.equal(code(checkInvite(store.getInvite('unknown'), WS, s1, NOW)), 'invite-invalid')
    assert.equal(code(checkInvite(row(), 'ffffffffffffffffffffffffffffffff', s1, NOW)), 'invite-invalid')
    assert.equal(code(checkInvite(row(), WS, secret('s2'), NOW)), 'invite-invalid')
    assert.equal(code(checkInvite(row(), WS, new Uint8Array(32), NOW)), 'invite-invalid')
    assert.equal(code(checkInvite(row(), WS, s1, NOW + 1000)), 'invite-expired')
    assert.equal(code(checkInvite(row(), WS, s1, NOW + 5000)), 'invite-expired')
    assert.ok(checkInvite(row(), WS, s1, NOW + 5000)?.reason)
    assert.equal(await store.write(() => store.useInvite('inv1', 'joiner', NOW + 10)), true)
    assert.equal(code(checkInvite(row(), WS, s1, NOW + 20)), 'invite-used')
    assert.equal(code(checkInvite(row(), WS, secret('s2'), NOW + 20)), 'invite-invalid', 'a wrong secret learns nothing about use')
    assert.equal(await store.write(() => store.useInvite('inv1', 'other', NOW + 30)), false)
  } finally {
    store.close()
    dir.remove()
  }
})

test('checkInvite: declined and revoked invites are refused with their own reason; nobody lives past 7 days', () => {
  const s1 = secret('s1')
  const base: InviteRow = {
    id: 'inv1',
    workspaceId: WS,
    secretHash: secretHash(s1),
    role: 'editor',
    createdAt: NOW,
    expiresAt: NOW + 1000,
    usedAt: null,
    usedBy: null,
    requireApproval: true,
    revokedAt: null,
    declinedAt: null,
    declinedBy: null,
  }
  const declined = checkInvite({ ...base, declinedAt: NOW + 1, declinedBy: 'joiner' }, WS, s1, NOW + 2)
  assert.equal(declined?.code, 'invite-used')
  assert.match(declined?.reason ?? '', /declined/)
  const revoked = checkInvite({ ...base, revokedAt: NOW + 1 }, WS, s1, NOW + 2)
  assert.equal(revoked?.code, 'invite-used')
  assert.match(revoked?.reason ?? '', /revoked/)
  assert.equal(
    checkInvite({ ...base, revokedAt: NOW + 1 }, WS, secret('s2'), NOW + 2)?.code,
    'invite-invalid',
    'no state without the secret',
  )
  assert.equal(inviteState({ ...base, revokedAt: NOW + 1 }, NOW + 5000), 'revoked', 'revoked stays revoked after its expiry')
  // A 30-day invite from before the cap stops after 7 days.
  const old = { ...base, expiresAt: NOW + 30 * DAY }
  assert.equal(inviteExpiry(old), NOW + 7 * DAY)
  assert.equal(checkInvite(old, WS, s1, NOW + 7 * DAY - 1), null)
  assert.equal(checkInvite(old, WS, s1, NOW + 7 * DAY)?.code, 'invite-expired')
  assert.equal(inviteState(old, NOW + 7 * DAY), 'expired')
})
