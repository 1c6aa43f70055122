/**
 * The shared sync-status source: one request for every subscriber, at most one a second while events keep
 * coming, the last state always asked for, nothing after the last subscriber leaves. The peer is a stand-in
 * (a request counter that answers when told); time is driven by hand.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ClientEvent } from '../../../shared/protocol.ts'
import type { DocSyncStatus } from '../../../shared/types.ts'
import { EVERY_MS, MIN_GAP_MS, type SyncStatusState, SyncStatusSource } from './sync-status.ts'

const DOC = 'd'.repeat(32)

function harness() {
  let now = 0
  let nextId = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  const listeners = new Set<(e: ClientEvent) => void>()
  const pending: { docId: string; resolve: (s: DocSyncStatus) => void; reject: (e: Error) => void }[] = []
  let asked = 0
  const client = {
    request: ((method: string, params: { docId: string }) => {
      assert.equal(method, 'doc.syncStatus')
      asked++
      return new Promise<DocSyncStatus>((resolve, reject) => pending.push({ docId: params.docId, resolve, reject }))
    }) as never,
    onEvent: (fn: (e: ClientEvent) => void) => {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
  }
  const source = new SyncStatusSource(client, DOC, {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++nextId
      timers.set(id, { at: now + ms, fn })
      return id
    },
    clearTimeout: (id) => timers.delete(id as number),
  })
  const status = (n: number): DocSyncStatus =>
    ({
      docId: DOC,
      heads: [String(n)],
      savedLocally: true,
      upToDate: [],
      otherMembers: 1,
      waitingChanges: n,
      lastOwnEditAt: null,
      receipts: [],
    }) as DocSyncStatus
  return {
    source,
    get asked() {
      return asked
    },
    get listening() {
      return listeners.size
    },
    emit: (e: ClientEvent) => {
      for (const l of [...listeners]) l(e)
    },
    /** Answers the oldest outstanding request with status `n`, and lets the promise callbacks run. */
    answer: async (n: number) => {
      const p = pending.shift()
      assert.ok(p, 'a request is outstanding')
      p.resolve(status(n))
      await Promise.resolve()
      await Promise.resolve()
    },
    /** Fails the oldest outstanding request. */
    fail: async (message: string) => {
      const p = pending.shift()
      assert.ok(p, 'a request is outstanding')
      p.reject(new Error(message))
      await Promise.resolve()
      await Promise.resolve()
    },
    outstanding: () => pending.length,
    advance: (ms: number) => {
      const until = now + ms
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0]
        if (!due) break
        timers.delete(due[0])
        now = due[1].at
        due[1].fn()
      }
      now = until
    },
  }
}

const sync: ClientEvent = { type: 'doc.sync', docId: DOC }

test('every part of the window shares one request, and a burst of events asks once more, a second after the last', async () => {
  const h = harness()
  const seenA: SyncStatusState[] = []
  const seenB: SyncStatusState[] = []
  const offA = h.source.subscribe((s) => seenA.push(s))
  const offB = h.source.subscribe((s) => seenB.push(s))
  assert.equal(h.asked, 1, 'two subscribers, one request')
  await h.answer(1)
  assert.equal(seenA.at(-1)?.data?.waitingChanges, 1)
  assert.equal(seenB.at(-1)?.data?.waitingChanges, 1, 'both subscribers get the answer')

  // Events 100 ms apart, as while a teammate types: one request at the end of the first second, not ten.
  for (let i = 0; i < 10; i++) {
    h.emit(sync)
    h.advance(100)
  }
  assert.equal(h.asked, 2, `one more request for ten events within a second (asked ${h.asked})`)
  await h.answer(2)
  assert.equal(seenA.at(-1)?.data?.waitingChanges, 2)

  // An event while a request is out: one more request once it is answered (and a second has passed).
  h.advance(MIN_GAP_MS)
  h.emit(sync)
  assert.equal(h.asked, 3, 'after a quiet second an event asks at once')
  h.emit(sync)
  h.emit({ type: 'peer.list' })
  assert.equal(h.asked, 3, 'not while one is out')
  await h.answer(3)
  assert.equal(h.asked, 3, 'the follow-up waits for the gap')
  h.advance(MIN_GAP_MS)
  assert.equal(h.asked, 4, 'the last state is asked for')
  await h.answer(4)
  assert.equal(seenB.at(-1)?.data?.waitingChanges, 4)

  // Another document's events ask nothing.
  h.advance(MIN_GAP_MS)
  h.emit({ type: 'doc.sync', docId: 'e'.repeat(32) })
  assert.equal(h.asked, 4)

  offA()
  offB()
})

test('with no events it asks every few seconds; after the last subscriber leaves it asks nothing and drops late answers', async () => {
  const h = harness()
  const seen: SyncStatusState[] = []
  const off = h.source.subscribe((s) => seen.push(s))
  await h.answer(1)
  h.advance(EVERY_MS - 1)
  assert.equal(h.asked, 1)
  h.advance(1)
  assert.equal(h.asked, 2, 'the regular look')
  h.advance(MIN_GAP_MS)
  h.emit(sync)
  assert.equal(h.outstanding(), 1, 'still one out: the event waits for it')
  off()
  assert.equal(h.listening, 0, 'no event listener is left')
  const before = seen.length
  await h.answer(9)
  assert.equal(seen.length, before, 'a late answer reaches nobody')
  h.advance(EVERY_MS * 3)
  assert.equal(h.asked, 2, 'nothing is asked after the last subscriber left')

  // A new subscriber starts again at once.
  const again: SyncStatusState[] = []
  const off2 = h.source.subscribe((s) => again.push(s))
  assert.equal(h.asked, 3)
  await h.answer(5)
  assert.equal(again.at(-1)?.data?.waitingChanges, 5)
  off2()
})

test('a failed request keeps the last status and says why', async () => {
  const h = harness()
  const seen: SyncStatusState[] = []
  const off = h.source.subscribe((s) => seen.push(s))
  await h.answer(1)
  h.advance(MIN_GAP_MS)
  h.emit(sync)
  assert.equal(h.asked, 2)
  await h.fail('the peer went away')
  assert.equal(seen.at(-1)?.data?.waitingChanges, 1, 'the last known status stays')
  assert.match(String(seen.at(-1)?.error), /peer went away/)
  off()
})
