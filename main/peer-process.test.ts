/** The peer's lifecycle: start, ready, crash and restart with backoff, give up, fatal, clean stop. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { PassThrough } from 'node:stream'
import { decideRestart, DEFAULT_RESTART_POLICY } from './restart-policy.ts'
import { PeerSupervisor, type ChildProcessLike, type PeerState } from './peer-process.ts'
import { parsePeerMessage } from './peer-messages.ts'

test('restart policy: quick first, slower after, gives up after too many in a minute', () => {
  const p = { maxRestarts: 3, windowMs: 60_000, delaysMs: [100, 1000] }
  assert.deepEqual(decideRestart([], 0, p), { action: 'restart', delayMs: 100, attempt: 1 })
  assert.deepEqual(decideRestart([0], 10, p), { action: 'restart', delayMs: 1000, attempt: 2 })
  assert.deepEqual(decideRestart([0, 5], 10, p), { action: 'restart', delayMs: 1000, attempt: 3 })
  assert.deepEqual(decideRestart([0, 5, 9], 10, p), { action: 'give-up', restartsInWindow: 3 })
  // Old restarts no longer count: a peer that ran for a while gets the quick restart again.
  assert.deepEqual(decideRestart([0, 5, 9], 70_000, p), { action: 'restart', delayMs: 100, attempt: 1 })
  assert.equal(DEFAULT_RESTART_POLICY.maxRestarts, 5)
})

test('peer messages are checked before they are believed', () => {
  assert.deepEqual(parsePeerMessage({ type: 'ready', deviceId: '12D3KooW' }), { type: 'ready', deviceId: '12D3KooW' })
  assert.deepEqual(parsePeerMessage({ type: 'log', level: 'warn', message: 'x' }), { type: 'log', level: 'warn', message: 'x' })
  assert.equal((parsePeerMessage({ type: 'log', level: 'info', message: 'y'.repeat(100_000) }) as { message: string }).message.length, 8192)
  for (const bad of [
    null,
    'ready',
    { type: 'ready' },
    { type: 'log', level: 'trace', message: 'x' },
    { type: 'device-key', key: 'abc' },
    { type: 'device-key', key: new Uint8Array(0) },
    { type: 'device-key', key: new Uint8Array(5000) },
    { type: 'fatal' },
    { type: 'other' },
  ]) {
    assert.equal(parsePeerMessage(bad), null, JSON.stringify(bad))
  }
})

class FakeChild extends EventEmitter implements ChildProcessLike {
  sent: Array<{ message: unknown; transfer?: unknown[] }> = []
  killed = false
  readonly stdout = new PassThrough()
  readonly stderr = new PassThrough()
  postMessage(message: unknown, transfer?: unknown[]): void {
    this.sent.push({ message, ...(transfer ? { transfer } : {}) })
  }
  kill(): boolean {
    this.killed = true
    queueMicrotask(() => this.emit('exit', 143))
    return true
  }
}

function harness(config: { deviceKey?: Uint8Array } = {}, keep: (key: Uint8Array) => Promise<void> = async () => {}) {
  const children: FakeChild[] = []
  const states: Array<[PeerState, string | undefined]> = []
  const logs: string[] = []
  const keys: Uint8Array[] = []
  const timers: Array<{ fn: () => void; ms: number }> = []
  let now = 0
  const sup = new PeerSupervisor({
    fork: () => {
      const c = new FakeChild()
      children.push(c)
      return c
    },
    startConfig: async () => ({ profileDir: '/tmp/profile', ...config }),
    onDeviceKey: (k) => {
      keys.push(k)
      return keep(k)
    },
    onLog: (level, m) => logs.push(`${level} ${m}`),
    onState: (s, d) => states.push([s, d]),
    now: () => now,
    setTimer: (fn, ms) => {
      const t = { fn, ms }
      timers.push(t)
      return t
    },
    clearTimer: (t) => {
      const i = timers.indexOf(t as (typeof timers)[number])
      if (i >= 0) timers.splice(i, 1)
    },
  })
  const runTimers = () => {
    for (const t of timers.splice(0)) t.fn()
  }
  return {
    sup,
    children,
    states,
    logs,
    keys,
    timers,
    runTimers,
    advance: (ms: number) => {
      now += ms
    },
  }
}
const tick = () => new Promise((r) => setImmediate(r))

test('starts the peer with its config, passes logs and the new device key on, and connects once ready', async () => {
  const h = harness()
  h.sup.start()
  await tick()
  const child = h.children[0]!
  assert.deepEqual(child.sent[0], { message: { type: 'start', config: { profileDir: '/tmp/profile' } } })
  assert.equal(h.sup.connect('port-early'), false, 'not before ready')
  child.emit('message', { type: 'device-key', key: new Uint8Array([1, 2, 3]) })
  child.emit('message', { type: 'log', level: 'info', message: 'listening' })
  child.emit('message', { type: 'nonsense' })
  child.emit('message', { type: 'ready', deviceId: 'peer-1' })
  child.stderr.write('Error: boom\n    at x (y.js:1)\n')
  await tick()
  assert.deepEqual(h.keys, [new Uint8Array([1, 2, 3])])
  assert.deepEqual(child.sent[1], { message: { type: 'device-key-saved' } }, 'the key is acknowledged once kept')
  assert.deepEqual(
    h.states.map(([s]) => s),
    ['starting', 'ready'],
  )
  assert.ok(h.sup.connect('port-1'))
  assert.deepEqual(child.sent[2], { message: { type: 'connect' }, transfer: ['port-1'] })
  assert.ok(h.logs.includes('info listening'))
  assert.ok(h.logs.includes('warn Error: boom'))
  assert.ok(h.logs.some((l) => l.startsWith('warn peer sent an unknown message')))
})

test('a sealed key is passed at start', async () => {
  const h = harness({ deviceKey: new Uint8Array([9]) })
  h.sup.start()
  await tick()
  assert.deepEqual(h.children[0]!.sent[0]!.message, {
    type: 'start',
    config: { profileDir: '/tmp/profile', deviceKey: new Uint8Array([9]) },
  })
})

test('an unexpected exit restarts the peer with backoff, and gives up after too many', async () => {
  const h = harness()
  h.sup.start()
  await tick()
  for (let i = 0; i < DEFAULT_RESTART_POLICY.maxRestarts; i++) {
    h.children.at(-1)!.emit('message', { type: 'ready', deviceId: 'p' })
    h.children.at(-1)!.emit('exit', 1)
    assert.equal(h.sup.state, 'restarting')
    assert.equal(h.timers.at(-1)!.ms, DEFAULT_RESTART_POLICY.delaysMs[i])
    h.runTimers()
    await tick()
    h.advance(1000)
  }
  assert.equal(h.children.length, DEFAULT_RESTART_POLICY.maxRestarts + 1)
  h.children.at(-1)!.emit('exit', 1)
  assert.equal(h.sup.state, 'failed')
  assert.match(h.states.at(-1)![1]!, /6 times in a minute/)
  h.runTimers()
  await tick()
  assert.equal(h.children.length, DEFAULT_RESTART_POLICY.maxRestarts + 1, 'no restart after giving up')
  // A person asks to try again: the budget starts afresh.
  h.sup.start()
  await tick()
  assert.equal(h.children.length, DEFAULT_RESTART_POLICY.maxRestarts + 2)
})

test('a fatal error at start is shown, not retried; a peer that lingers after it is killed', async () => {
  const h = harness()
  h.sup.start()
  await tick()
  const child = h.children[0]!
  child.emit('message', { type: 'fatal', message: 'The profile is in use by another Grapevine peer.' })
  h.runTimers()
  assert.ok(child.killed)
  await tick()
  assert.deepEqual(h.states.at(-1), ['failed', 'The profile is in use by another Grapevine peer.'])
  assert.equal(h.children.length, 1)
})

test('a fatal error after a good start (an uncaught exception) is a crash: restarted', async () => {
  const h = harness()
  h.sup.start()
  await tick()
  const child = h.children[0]!
  child.emit('message', { type: 'ready', deviceId: 'p' })
  child.emit('message', { type: 'fatal', message: 'TypeError: x is undefined' })
  child.emit('exit', 1)
  assert.equal(h.sup.state, 'restarting')
  assert.ok(h.logs.includes('error peer: TypeError: x is undefined'))
})

test('stop asks the peer to stop and waits for its exit; it is not restarted', async () => {
  const h = harness()
  h.sup.start()
  await tick()
  const child = h.children[0]!
  child.emit('message', { type: 'ready', deviceId: 'p' })
  const stopped = h.sup.stop(5000)
  assert.deepEqual(child.sent.at(-1), { message: { type: 'stop' } })
  assert.equal(h.sup.stop(), stopped, 'a second quit waits for the same stop')
  child.emit('exit', 0)
  await stopped
  assert.equal(h.sup.state, 'stopped')
  assert.equal(h.timers.length, 0, 'the kill timer is cleared once the peer exits')
  assert.equal(h.children.length, 1)
  assert.equal(h.sup.connect('late'), false)
})

test('a peer that ignores stop is killed after the timeout', async () => {
  const h = harness()
  h.sup.start()
  await tick()
  const stopped = h.sup.stop(5000)
  assert.equal(h.timers.at(-1)!.ms, 5000)
  h.runTimers()
  await stopped
  assert.ok(h.children[0]!.killed)
  assert.equal(h.sup.state, 'stopped')
})

test('stopping during a restart delay cancels the restart', async () => {
  const h = harness()
  h.sup.start()
  await tick()
  h.children[0]!.emit('exit', 1)
  await h.sup.stop()
  h.runTimers()
  await tick()
  assert.equal(h.children.length, 1)
  assert.equal(h.sup.state, 'stopped')
})

test('messages from a replaced process are ignored', async () => {
  const h = harness()
  h.sup.start()
  await tick()
  const old = h.children[0]!
  old.emit('exit', 1)
  h.runTimers()
  await tick()
  old.emit('message', { type: 'ready', deviceId: 'ghost' })
  old.emit('exit', 1)
  assert.equal(h.sup.state, 'starting')
  assert.equal(h.children.length, 2)
})

test('the key hand-over is confirmed only after main kept the key, and its failure is passed on', async () => {
  let done = (): void => {}
  const h = harness(
    {},
    () =>
      new Promise<void>((resolve) => {
        done = resolve
      }),
  )
  h.sup.start()
  await tick()
  const child = h.children[0]!
  child.emit('message', { type: 'device-key', key: new Uint8Array([1, 2, 3]) })
  await tick()
  assert.equal(h.keys.length, 1, 'main is keeping it')
  assert.equal(child.sent.length, 1, 'no confirmation while sealing and writing are under way')
  done()
  await tick()
  assert.deepEqual(child.sent[1], { message: { type: 'device-key-saved' } })

  const failing = harness({}, async () => {
    throw new Error('EACCES: permission denied')
  })
  failing.sup.start()
  await tick()
  const other = failing.children[0]!
  other.emit('message', { type: 'device-key', key: new Uint8Array([4]) })
  await tick()
  await tick()
  assert.deepEqual(other.sent[1], { message: { type: 'device-key-failed', message: 'EACCES: permission denied' } })
  assert.ok(failing.logs.includes('error could not keep the device key: EACCES: permission denied'))
})

test('a peer hands over one key, while it starts: a second, or one after ready, is ignored', async () => {
  const h = harness()
  h.sup.start()
  await tick()
  const child = h.children[0]!
  child.emit('message', { type: 'device-key', key: new Uint8Array([1]) })
  child.emit('message', { type: 'device-key', key: new Uint8Array([2]) })
  child.emit('message', { type: 'ready', deviceId: 'p' })
  child.emit('message', { type: 'device-key', key: new Uint8Array([3]) })
  await tick()
  assert.deepEqual(h.keys, [new Uint8Array([1])], 'the kept key cannot be overwritten by a confused peer')
  assert.equal(h.logs.filter((l) => l.includes('device key outside its start')).length, 2)
})
