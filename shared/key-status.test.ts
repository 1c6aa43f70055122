/** The one wording for who has a workspace's content key, as the app and the CLI show it. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeKeyStatus, keyStatusRisk } from './key-status.ts'
import type { KeyStatus } from './types.ts'

const ana = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
const bob = '12D3KooWBmAwcd4PJNJvfV89HwE48nwkRmAgo8Vy3uQEyNNHBox2'
const cat = '12D3KooWCatCatCatCatCatCatCatCatCatCatCatCatCatCatCa'
const dan = '12D3KooWDanDanDanDanDanDanDanDanDanDanDanDanDanDanDa'
const at912 = Date.UTC(2025, 2, 4, 9, 12)
/** A clock that only knows one time, so the words do not depend on the machine's zone. */
const clock = (at: number): string => (at === at912 ? '09:12' : `unexpected time ${at}`)

const status = (s: Partial<KeyStatus>): KeyStatus => ({
  epochId: 'e2',
  since: at912 + 60_000,
  dropped: [],
  readers: 4,
  confirmed: 4,
  waiting: [],
  ...s,
})

test('after a removal: who has the new key, and who may still be using the old one', () => {
  // The counts come from the peer as they are; the wording does not recount them from the list.
  const s = status({
    dropped: [{ deviceId: bob, name: 'Bob' }],
    readers: 4,
    confirmed: 2,
    waiting: [{ deviceId: cat, name: 'Cat', online: false, lastSeen: at912 }],
  })
  assert.equal(describeKeyStatus(s, clock), '2 of 4 teammates have the new key; Cat (offline since 09:12) may still be using the old one')
  assert.equal(keyStatusRisk(s), 'until they have it, what they write could still be read by Bob')
})

test('several waiting, one never seen; one confirmed', () => {
  const s = status({
    dropped: [
      { deviceId: bob, name: 'Bob' },
      { deviceId: ana, name: 'Ana' },
    ],
    readers: 3,
    confirmed: 1,
    waiting: [
      { deviceId: cat, name: 'Cat', online: false, lastSeen: at912 },
      { deviceId: dan, name: 'Dan', online: false, lastSeen: null },
    ],
  })
  assert.equal(
    describeKeyStatus(s, clock),
    '1 of 3 teammates has the new key; Cat (offline since 09:12) and Dan (never seen) may still be using the old one',
  )
  assert.equal(keyStatusRisk(s), 'until they have it, what they write could still be read by Bob and Ana')
})

test('everyone confirmed', () => {
  const after = status({ dropped: [{ deviceId: bob, name: 'Bob' }], readers: 3, confirmed: 3 })
  assert.equal(describeKeyStatus(after, clock), 'all 3 teammates have the new key')
  assert.equal(keyStatusRisk(after), null, 'nobody left to use the old key')
  assert.equal(describeKeyStatus(status({ readers: 4, confirmed: 4 }), clock), 'all 4 teammates have the current key')
  assert.equal(describeKeyStatus(status({ readers: 1, confirmed: 1 }), clock), '1 teammate has the current key')
})

test('online but not synced yet', () => {
  const online = { deviceId: cat, name: 'Cat', online: true, lastSeen: at912 }
  const removed = status({ dropped: [{ deviceId: bob, name: 'Bob' }], readers: 2, confirmed: 1, waiting: [online] })
  assert.equal(
    describeKeyStatus(removed, clock),
    '1 of 2 teammates has the new key; Cat (online, not synced yet) may still be using the old one',
  )
  // No removal: Cat is only behind (a new member, say), nothing is at risk.
  const behind = status({ readers: 2, confirmed: 1, waiting: [online] })
  assert.equal(
    describeKeyStatus(behind, clock),
    '1 of 2 teammates has the current key; Cat (online, not synced yet) should get it on the next sync',
  )
  assert.equal(keyStatusRisk(behind), null)
  const offline = status({ readers: 2, confirmed: 1, waiting: [{ ...online, online: false }] })
  assert.equal(
    describeKeyStatus(offline, clock),
    '1 of 2 teammates has the current key; Cat (offline since 09:12) should get it when next online',
  )
})

test('no content key yet', () => {
  const none = status({ epochId: null, since: null, readers: 2, confirmed: 0, waiting: [] })
  assert.equal(describeKeyStatus(none, clock), 'no content key yet: an admin’s peer makes one when it is next online')
  assert.equal(keyStatusRisk(none), null)
})
