/** The replica and its DocHandle face, against real Automerge and a scripted peer. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import type { DocContent } from '../../../shared/doc-content.ts'
import { GrapevineError, type ClientEvent, type ClientMethod, type PeerClient } from '../../../shared/protocol.ts'
import { DocReplica, type Scheduler } from './replica.ts'

/** A peer that serves one document: `doc.open`, `doc.applyChanges`, `doc.close`, and pushes events. */
function scriptedPeer(initialText = 'hello') {
  let doc = A.change(A.init<DocContent>(), (d) => {
    d.title = 'Plan'
    d.text = initialText
  })
  const listeners = new Set<(e: ClientEvent) => void>()
  const applied: Uint8Array[][] = []
  let fail: GrapevineError | null = null
  let delayMs = 1
  let maxOutstanding = 0
  let outstanding = 0
  let opened = 0
  const client: Pick<PeerClient, 'request' | 'onEvent'> = {
    async request(method: ClientMethod, params: unknown) {
      const p = params as { docId: string; changes?: Uint8Array[] }
      if (method === 'doc.open') {
        opened++
        return {
          docId: p.docId,
          bytes: A.save(doc),
          heads: A.getHeads(doc),
          actor: `${'ab'.repeat(8)}${String(opened).padStart(32, '0')}`,
        } as never
      }
      if (method === 'doc.applyChanges') {
        outstanding++
        maxOutstanding = Math.max(maxOutstanding, outstanding)
        try {
          await new Promise((r) => setTimeout(r, delayMs))
          if (fail) throw fail
        } finally {
          outstanding--
        }
        applied.push(p.changes!)
        ;[doc] = A.applyChanges(doc, p.changes!)
        return { heads: A.getHeads(doc) } as never
      }
      if (method === 'doc.close') return { closed: true } as never
      throw new Error(`unexpected ${method}`)
    },
    onEvent(l) {
      listeners.add(l)
      return () => listeners.delete(l)
    },
  }
  return {
    client,
    applied,
    get doc() {
      return doc
    },
    failWith(e: GrapevineError | null) {
      fail = e
    },
    /** How long the peer takes to answer `doc.applyChanges`. */
    answerAfter(ms: number) {
      delayMs = ms
    },
    /** The most `doc.applyChanges` requests outstanding at once so far. */
    get maxOutstanding() {
      return maxOutstanding
    },
    /** A teammate's edit arriving as a `doc.changes` event. */
    remoteEdit(fn: (d: DocContent) => void, docId = 'd1') {
      const theirs = A.change(A.clone(doc, { actor: 'cd'.repeat(16) }), fn)
      const changes = A.getChanges(doc, theirs)
      ;[doc] = A.applyChanges(doc, changes)
      for (const l of listeners) l({ type: 'doc.changes', docId, changes })
    },
  }
}

/**
 * A scheduler the test runs by hand: a stand-in for animation frames, with a clock that moves only
 * when the test says (a frame is 17 ms), so a slow machine cannot change what the policy decides.
 * What is scheduled runs at the next frame, or at the first frame at least `afterMs` later.
 */
function manualFrames(): { schedule: Scheduler; now(): number; run(): void; advance(ms: number): void; pending(): number } {
  let q: { fn: () => void; due: number }[] = []
  let t = 1000
  return {
    schedule: (fn, afterMs = 0) => void q.push({ fn, due: t + afterMs }),
    now: () => t,
    run: () => {
      t += 17
      const due = q.filter((x) => x.due <= t)
      q = q.filter((x) => x.due > t)
      for (const x of due) x.fn()
    },
    advance: (ms) => {
      t += ms
    },
    pending: () => q.length,
  }
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 10))

test('a keystroke after a quiet frame leaves at once; a fast run of keys leaves together at the next frame', async () => {
  const peer = scriptedPeer()
  const frames = manualFrames()
  const r = await DocReplica.open(peer.client, 'd1', frames.schedule, undefined, frames.now)
  assert.equal(r.text(), 'hello')
  let changes = 0
  r.listen('change', () => changes++)
  r.change((d) => A.splice(d, ['text'], r.text().length, 0, ' '))
  await Promise.resolve() // the next key is another event: the first has left by then
  // Typed right after: they wait for its answer and the next frame, then leave in one request.
  for (const ch of ['w', 'o']) r.change((d) => A.splice(d, ['text'], r.text().length, 0, ch))
  assert.equal(r.text(), 'hello wo')
  assert.equal(changes, 3)
  await settle()
  assert.deepEqual(
    peer.applied.map((b) => b.length),
    [1],
    'the first keystroke left without a frame',
  )
  assert.equal(frames.pending(), 1, 'the rest wait for the frame')
  frames.run()
  await settle()
  assert.deepEqual(
    peer.applied.map((b) => b.length),
    [1, 2],
  )
  // After a quiet frame, the next keystroke leaves at once again.
  frames.advance(20)
  r.change((d) => A.splice(d, ['text'], r.text().length, 0, 'r'))
  await settle()
  assert.deepEqual(
    peer.applied.map((b) => b.length),
    [1, 2, 1],
  )
  assert.equal(peer.doc.text, 'hello wor')
  assert.equal(r.unsent(), 0)
  await r.close()
})

test('an empty change sends nothing (getLastLocalChange would repeat the previous one)', async () => {
  const peer = scriptedPeer()
  const frames = manualFrames()
  const r = await DocReplica.open(peer.client, 'd1', frames.schedule)
  r.change((d) => A.splice(d, ['text'], 0, 0, '>'))
  r.change(() => {})
  frames.run()
  await r.flushNow()
  assert.equal(peer.applied.flat().length, 1)
  await r.close()
})

test('a teammate’s change after a quiet frame is applied at once; a burst is applied in one batch per frame, and announced', async () => {
  const peer = scriptedPeer()
  const frames = manualFrames()
  const r = await DocReplica.open(peer.client, 'd1', frames.schedule, undefined, frames.now)
  let remote = 0
  r.listen('remote', () => remote++)
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'A'))
  assert.equal(r.text(), 'Ahello', 'the first, after a quiet spell, without waiting for a frame')
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'B'))
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'C'))
  assert.equal(r.text(), 'Ahello', 'those right behind it wait for the frame')
  frames.run()
  assert.equal(r.text(), 'CBAhello')
  assert.equal(remote, 2, 'two applications: the first change, then the rest together')
  frames.advance(20)
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'D'))
  assert.equal(r.text(), 'DCBAhello', 'quiet again: at once')
  // Changes of another document are not this replica's.
  frames.advance(20)
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'x'), 'other-doc')
  frames.run()
  assert.equal(r.text(), 'DCBAhello')
  assert.equal(remote, 3)
  await r.close()
})

test('changes that arrive during a costly apply, or right after it, go together once as long again has passed; after a quiet spell at once', async () => {
  const peer = scriptedPeer()
  const frames = manualFrames()
  const r = await DocReplica.open(peer.client, 'd1', frames.schedule, undefined, frames.now)
  // Each apply takes `cost` ms of the clock (a long document: Automerge walks the text's operations).
  const cost = 40
  const batches: string[] = []
  r.listen('remote', (patches) => {
    batches.push(patches.map((p) => (p.action === 'splice' ? p.value : p.action)).join(''))
    frames.advance(cost)
  })
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'A'))
  assert.deepEqual(batches, ['A'], 'after a quiet spell: at once, with its patch')
  // Arrived while it ran (their events wait behind it): not one apply each, one for all.
  for (const ch of 'BCD') peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, ch))
  assert.equal(r.text(), 'Ahello')
  assert.equal(frames.pending(), 1, 'one turn scheduled for the three')
  // Not at the next turn: the last apply took 40 ms, so they wait until 40 ms have passed since it ended.
  frames.run()
  frames.run()
  assert.equal(r.text(), 'Ahello', 'not applied 34 ms after a 40 ms apply ended')
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'E'))
  assert.equal(frames.pending(), 1, 'what comes meanwhile joins the same batch')
  frames.run()
  assert.equal(r.text(), 'EDCBAhello')
  assert.deepEqual(batches, ['A', 'EDCB'], 'one apply, whose patches say what the four did')
  // Quiet again (more than 16 ms since the last apply ended, though less than its 40 ms): at once.
  frames.advance(20)
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'F'))
  assert.deepEqual(batches, ['A', 'EDCB', 'F'])
  // A cheap apply: what comes right after it waits for the next turn only.
  frames.advance(20)
  r.listen('remote', () => frames.advance(-cost + 2))
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'G'))
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'H'))
  frames.run()
  assert.deepEqual(batches, ['A', 'EDCB', 'F', 'G', 'H'], 'after a 2 ms apply, at the next turn')
  // One that comes later than that apply took, though within QUIET_MS of it: at once (the next run of a
  // teammate's burst; it used to wait for the next turn).
  frames.advance(5)
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'K'))
  assert.deepEqual(batches, ['A', 'EDCB', 'F', 'G', 'H', 'K'], '5 ms after a 2 ms apply, at once')
  // Closed while waiting: nothing more is applied.
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'I'))
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, 'J'))
  await r.close()
  frames.run()
  frames.run()
  frames.run()
  assert.equal(r.text(), 'KHGFEDCBAhello', 'I and J were not applied')
  assert.equal(batches.length, 6)
})

test('changes that arrive while the document is opening are not lost', async () => {
  const peer = scriptedPeer()
  const frames = manualFrames()
  const opening = DocReplica.open(peer.client, 'd1', frames.schedule)
  peer.remoteEdit((d) => A.splice(d, ['text'], 5, 0, '!'))
  const r = await opening
  frames.run()
  assert.equal(r.text(), 'hello!')
  await r.close()
})

test('a refused change is reported, and no change is made on top of it (the view reopens the replica)', async () => {
  const peer = scriptedPeer()
  const frames = manualFrames()
  const r = await DocReplica.open(peer.client, 'd1', frames.schedule)
  const rejected: Error[] = []
  r.listen('rejected', (e) => rejected.push(e))
  peer.failWith(new GrapevineError('forbidden', 'Viewers cannot change documents.'))
  r.change((d) => A.splice(d, ['text'], 0, 0, 'X'))
  frames.run()
  await settle()
  assert.equal(rejected.length, 1)
  assert.equal(r.unsent(), 0)
  r.change((d) => A.splice(d, ['text'], 0, 0, 'Y'))
  assert.equal(r.text(), 'Xhello', 'nothing more is written to a refused replica')
  assert.equal(r.unsent(), 0)
  await r.close()
})

test('edits made while the peer is unreachable are kept and sent by the next replica of the document', async () => {
  const peer = scriptedPeer()
  const frames = manualFrames()
  const r = await DocReplica.open(peer.client, 'd1', frames.schedule)
  let rejected = 0
  r.listen('rejected', () => rejected++)
  peer.failWith(new GrapevineError('unreachable', 'The connection to the peer closed.'))
  r.change((d) => A.splice(d, ['text'], r.text().length, 0, ' kept'))
  frames.run()
  await settle()
  r.change((d) => A.splice(d, ['text'], r.text().length, 0, ' too'))
  assert.equal(r.text(), 'hello kept too', 'typing goes on while the peer is away')
  frames.run()
  await settle()
  assert.equal(r.unsent(), 2, 'both edits count as not saved')
  await r.close()
  assert.equal(rejected, 0, 'unreachable is not a refusal')

  peer.failWith(null)
  const next = await DocReplica.open(peer.client, 'd1', frames.schedule)
  assert.equal(next.text(), 'hello kept too', 'the kept edits are in the new replica')
  frames.run()
  await next.flushNow()
  assert.equal(peer.doc.text, 'hello kept too', 'and they reach the peer')
  await next.close()
})

test('the page does not wait for a reply to send: requests overlap (at most 4), in order, and every change arrives', async () => {
  const peer = scriptedPeer()
  peer.answerAfter(40)
  const frames = manualFrames()
  const r = await DocReplica.open(peer.client, 'd1', frames.schedule, undefined, frames.now)
  const unsent: number[] = []
  r.listen('unsent', (n) => unsent.push(n))
  // Six frames of fast typing, two keys each, while the peer takes 40 ms per answer.
  for (let f = 0; f < 6; f++) {
    for (const ch of ['a', 'b']) r.change((d) => A.splice(d, ['text'], r.text().length, 0, ch))
    frames.run()
    await new Promise((res) => setTimeout(res, 2))
  }
  assert.equal(peer.maxOutstanding, 4, 'four requests out at once, no more')
  await r.flushNow()
  assert.equal(peer.doc.text, `hello${'ab'.repeat(6)}`, 'every change arrived, in causal order')
  assert.equal(r.unsent(), 0)
  assert.ok(
    unsent.some((n) => n > 0 && n < 12),
    'the count fell as acknowledgements came, not all at once at the end',
  )
  await r.close()
})

test('when the peer goes away with requests in flight, all of them and the queue are kept in order for the next replica', async () => {
  const peer = scriptedPeer()
  peer.answerAfter(30)
  const frames = manualFrames()
  const r = await DocReplica.open(peer.client, 'd1', frames.schedule, undefined, frames.now)
  for (const ch of ['1', '2', '3']) {
    r.change((d) => A.splice(d, ['text'], r.text().length, 0, ch))
    frames.run()
  }
  peer.failWith(new GrapevineError('unreachable', 'The connection to the peer closed.'))
  r.change((d) => A.splice(d, ['text'], r.text().length, 0, '4'))
  await new Promise((res) => setTimeout(res, 80))
  assert.equal(r.unsent(), 4)
  await r.close()
  peer.failWith(null)
  peer.answerAfter(1)
  const next = await DocReplica.open(peer.client, 'd1', frames.schedule)
  frames.run()
  await next.flushNow()
  assert.equal(peer.doc.text, 'hello1234')
  assert.equal(next.unsent(), 0)
  await next.close()
})

test('typing made on the backend (spliceText): one change per send, read up to date, and a teammate’s patches are theirs alone', async () => {
  const peer = scriptedPeer()
  const frames = manualFrames()
  const r = await DocReplica.open(peer.client, 'd1', frames.schedule, undefined, frames.now)
  const remote: A.Patch[][] = []
  r.listen('remote', (p) => remote.push(p))
  // After a quiet frame: the send goes in a microtask. Two keystrokes before it (the second a
  // replacement given last first) and a key that changes nothing become one change.
  r.spliceText([[5, 0, ' world']])
  r.spliceText([
    [6, 1, 'W'],
    [0, 1, 'H'],
  ])
  r.spliceText([])
  assert.equal(r.unsent(), 1, 'typing not yet committed counts as unsent')
  assert.equal(r.text(), 'Hello World', 'the view, read, is brought up to date')
  await settle()
  assert.equal(peer.doc.text, 'Hello World')
  assert.deepEqual(
    peer.applied.map((b) => b.length),
    [1],
    'one request of one change for the keys typed before it left',
  )
  assert.equal(r.unsent(), 0)
  // In a fast run (a request left within the frame), keys wait for the next turn, then leave as one change.
  r.spliceText([[11, 0, '.']])
  r.spliceText([[12, 0, '.']])
  r.spliceText([[13, 0, '.']])
  await settle()
  assert.equal(peer.applied.length, 1, 'nothing left before the turn')
  frames.run()
  await settle()
  assert.deepEqual(
    peer.applied.map((b) => b.length),
    [1, 1],
    'the run left as one change',
  )
  assert.equal(peer.doc.text, 'Hello World...')
  // A teammate's change after local typing not committed nor read since: its patches say what it did,
  // not the typing too, and the typing is still sent, as a change of its own.
  frames.advance(20)
  r.spliceText([[14, 0, '!']])
  peer.remoteEdit((d) => A.splice(d, ['text'], 0, 0, '> '))
  assert.equal(remote.length, 1)
  assert.deepEqual(
    remote[0]!.map((p) => (p.action === 'splice' ? [p.path, p.value] : p.action)),
    [[['text', 0], '> ']],
  )
  assert.equal(r.text(), '> Hello World...!')
  // A cursor placed on a view that lags the typing still names the character, and does not commit it.
  r.spliceText([[17, 0, '?']])
  const c = A.getCursor(r.docForCursors(), ['text'], 17)
  assert.equal(A.getCursorPosition(r.doc(), ['text'], c), 17)
  assert.equal(r.text(), '> Hello World...!?')
  await r.flushNow()
  assert.equal(peer.doc.text, '> Hello World...!?')
  assert.equal(peer.applied.flat().length, 4, 'every key typed reached the peer, in four changes')
  await r.close()
})

test('spliceText on a document without a text object makes one, the usual way', async () => {
  const peer = scriptedPeer()
  const frames = manualFrames()
  const r = await DocReplica.open(peer.client, 'd1', frames.schedule, undefined, frames.now)
  // The teammate deletes the text object; the window types into the empty editor.
  peer.remoteEdit((d) => {
    delete (d as Partial<DocContent>).text
  })
  assert.equal(r.text(), '')
  frames.advance(20)
  r.spliceText([[0, 0, 'new']])
  assert.equal(r.text(), 'new')
  await r.flushNow()
  assert.equal(peer.doc.text, 'new')
  await r.close()
})
