import { test } from 'node:test'
import assert from 'node:assert/strict'
import { GrapevineError } from '../../../shared/protocol.ts'
import { StartGate } from './start-gate.ts'

function startable(): { started: Promise<void>; up(): void; fail(err: Error): void } {
  let up!: () => void
  let fail!: (err: Error) => void
  const started = new Promise<void>((resolve, reject) => {
    up = resolve
    fail = reject
  })
  return { started, up, fail }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

test('while the network starts: local reads pass, the rest waits, and a session keeps its order', async () => {
  const s = startable()
  const gate = new StartGate(s.started)
  const one = { held: 0 }
  const other = { held: 0 }
  const done: string[] = []
  const ask = (who: string, session: { held: number }, method: string): Promise<void> =>
    gate.pass(method, session).then(() => void done.push(`${who} ${method}`))

  await ask('one', one, 'doc.list')
  assert.deepEqual(done, ['one doc.list'], 'a local read passes at once')
  const edit = ask('one', one, 'doc.applyChanges')
  const readAfter = ask('one', one, 'doc.read')
  const otherRead = ask('other', other, 'doc.read')
  await tick()
  assert.deepEqual(
    done,
    ['one doc.list', 'other doc.read'],
    "an edit waits, and so does its session's read after it; not another session's",
  )
  assert.equal(one.held, 2)
  s.up()
  await Promise.all([edit, readAfter, otherRead])
  assert.deepEqual(done.slice(2), ['one doc.applyChanges', 'one doc.read'], 'in the order asked')
  assert.equal(one.held, 0)
  await ask('one', one, 'invite.create')
  assert.equal(done.at(-1), 'one invite.create', 'after the start nothing waits')
})

test('a network that could not start: methods that need it are refused with a clear error, local reads still pass', async () => {
  const s = startable()
  const gate = new StartGate(s.started)
  const session = { held: 0 }
  const waiting = gate.pass('peer.dial', session)
  s.fail(new Error('listen EADDRINUSE: address already in use 127.0.0.1:4001'))
  await assert.rejects(waiting, (err: unknown) => {
    assert.ok(err instanceof GrapevineError)
    assert.equal(err.code, 'unreachable')
    assert.match(err.message, /network could not start: listen EADDRINUSE/)
    return true
  })
  await assert.rejects(gate.pass('doc.applyChanges', session), /network could not start/)
  await gate.pass('doc.list', session)
  assert.equal(session.held, 0)
})
