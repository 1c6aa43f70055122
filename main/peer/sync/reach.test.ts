import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Reach } from './reach.ts'

const [me, ann, ben, cat, dan] = ['me', 'ann', 'ben', 'cat', 'dan']
const ws = 'w1'

function setup(): { reach: Reach; clock: { t: number } } {
  const clock = { t: 1_000_000 }
  const members = new Map([[ws, [me, ann, ben, cat, dan]]])
  return { reach: new Reach({ self: me, members: (w) => members.get(w), now: () => clock.t }), clock }
}

test('a member is away only when every connected teammate has said lately whom it reaches, and none named it', () => {
  const { reach, clock } = setup()
  const connected = new Set([ann, ben, 'a stranger'])
  assert.equal(reach.away(ws, ann, connected), false, 'connected here')
  assert.equal(reach.away(ws, dan, connected), false, 'no report yet: taken to be reachable')
  reach.receive(ws, ann, [me, ben])
  assert.equal(reach.away(ws, dan, connected), false, "ben's report is still missing")
  reach.receive(ws, ben, [me, ann, cat])
  assert.equal(reach.away(ws, dan, connected), true, 'neither ann nor ben reaches dan')
  assert.equal(reach.away(ws, cat, connected), false, 'ben reaches cat: the topic carries it there')
  clock.t += 61_000
  assert.equal(reach.away(ws, dan, connected), false, 'reports older than a minute are not relied on')
  reach.receive(ws, ann, [me, ben])
  reach.receive(ws, ben, [me, ann])
  assert.equal(reach.away(ws, dan, connected), true)
  reach.forget(ben)
  assert.equal(reach.away(ws, dan, connected), false, 'ben disconnected and is connected again: its report is gone with it')
  assert.equal(reach.away(ws, dan, new Set([ann])), true, 'with ben not connected, ann alone answers')
  assert.equal(reach.away('another workspace', dan, connected), true, 'nobody here is a member of a workspace this device does not know')
})

test('names that are not members are left out of a report; this device reports the members it is connected to', () => {
  const { reach } = setup()
  reach.receive(ws, ann, ['a stranger', 'another'])
  reach.receive(ws, ben, [])
  assert.equal(reach.away(ws, 'a stranger', new Set([ann, ben])), true)
  assert.deepEqual(reach.report(ws, new Set([ann, cat, 'a stranger', me])), [ann, cat])
  assert.deepEqual(reach.report('another workspace', new Set([ann])), [])
})
