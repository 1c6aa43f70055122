/**
 * The contract every `FrameChannel` keeps, as one suite that each transport runs against itself in a
 * few lines (as automerge-repo's `runStorageAdapterTests(setup)`). Pure TypeScript: the caller passes
 * its test runner's `test`, so this file needs neither node:test nor a DOM.
 */
import { createFrameChannel, type FrameChannel } from './frame-channel.ts'
import { type ClientEvent, GrapevineError, type PeerClient } from './protocol.ts'
import { createRpcClient, serveRpc } from './rpc.ts'

/** Two connected ends of one transport. */
export interface ChannelPair {
  /** The end that connected (a client: the page, main, the CLI). */
  near: FrameChannel
  /** The end that accepted (the peer). */
  far: FrameChannel
  /** Breaks the link from the far side below the channel: port closed, socket destroyed, WebSocket terminated. */
  breakFar(): void
  /** Releases what the setup made (servers, folders); runs after each case. */
  teardown?(): void | Promise<void>
}

/** node:test's `test`, or any runner's equivalent. */
export type TestFn = (name: string, fn: () => Promise<void>) => unknown

const WAIT_MS = 5000

// Every host this runs in has timers; shared/ is typed without any host's globals, so name the one used.
const { setTimeout } = globalThis as unknown as { setTimeout(fn: () => void, ms: number): unknown }
const sleep = (ms: number): Promise<void> => new Promise((r) => void setTimeout(r, ms))

export function runFrameChannelTests(name: string, setup: () => Promise<ChannelPair>, test: TestFn): void {
  const run = (what: string, body: (pair: ChannelPair) => Promise<void>): unknown =>
    test(`${name}: ${what}`, async () => {
      const pair = await setup()
      try {
        await body(pair)
      } finally {
        pair.near.close()
        pair.far.close()
        await pair.teardown?.()
      }
    })

  run('frames arrive whole, in order, bytes intact (empty, every byte value, 1 MiB)', async ({ near, far }) => {
    const frames = [
      new Uint8Array(0),
      Uint8Array.from({ length: 256 }, (_, i) => i),
      pattern(1024 * 1024, 1),
      new Uint8Array([0]),
      pattern(65_539, 2),
    ]
    const got = collect(far)
    for (const f of frames) near.send(f)
    await waitUntil(`${frames.length} frames at the far end`, () => got.length >= frames.length)
    equal(got.length, frames.length, 'frame count')
    for (const [i, f] of frames.entries()) sameBytes(got[i]!, f, `frame ${i}`)
  })

  run('both directions at once, each in order', async ({ near, far }) => {
    far.onFrame((f) => far.send(Uint8Array.of(0xee, ...f)))
    const echoes = collect(near)
    const fromFar = collect(far)
    for (let i = 0; i < 100; i++) near.send(Uint8Array.of(i, 255 - i))
    await waitUntil('100 echoes at the near end', () => echoes.length >= 100)
    for (const [i, f] of echoes.entries()) sameBytes(f, Uint8Array.of(0xee, i, 255 - i), `echo ${i}`)
    equal(fromFar.length, 100, 'frames at the far end')
  })

  for (const closer of ['near', 'far'] as const) {
    run(`close() on the ${closer} end fires onClose once on each end; sending after it does not throw`, async (pair) => {
      const other = closer === 'near' ? 'far' : 'near'
      const closes = { near: count(pair.near), far: count(pair.far) }
      pair[closer].close()
      equal(closes[closer].n, 1, `onClose on the ${closer} end, at once`)
      // The other end may not know yet: its send must not throw either.
      pair[other].send(new Uint8Array([1]))
      pair[closer].send(new Uint8Array([2]))
      await waitUntil(`onClose on the ${other} end`, () => closes[other].n > 0)
      pair.near.close()
      pair.far.close()
      pair.near.send(new Uint8Array([3]))
      pair.far.send(new Uint8Array([4]))
      equal(closes.near.n, 1, 'onClose calls on the near end')
      equal(closes.far.n, 1, 'onClose calls on the far end')
    })
  }

  run('a break below the far end closes the near end once', async (pair) => {
    const closes = count(pair.near)
    pair.breakFar()
    await waitUntil('onClose on the near end', () => closes.n > 0)
    pair.near.send(new Uint8Array([1]))
    pair.near.close()
    equal(closes.n, 1, 'onClose calls on the near end')
  })

  run('listeners registered late miss nothing', async ({ near, far }) => {
    near.send(new Uint8Array([1]))
    near.send(new Uint8Array([2]))
    // Give the frames time to arrive before anyone listens; they must wait for the first listener.
    await sleep(50)
    const first = collect(far)
    await waitUntil('the two early frames', () => first.length >= 2)
    const second = collect(far)
    near.send(new Uint8Array([3]))
    await waitUntil('the third frame at both listeners', () => first.length >= 3 && second.length >= 1)
    sameBytes(first[0]!, new Uint8Array([1]), 'early frame 1')
    sameBytes(first[1]!, new Uint8Array([2]), 'early frame 2')
    sameBytes(second[0]!, new Uint8Array([3]), 'the later listener gets later frames')
    const farClosed = count(far)
    near.close()
    await waitUntil('the far end to close', () => farClosed.n > 0)
    const late = count(far)
    await waitUntil('onClose added after the close to be called', () => late.n === 1)
  })

  run('the client protocol round trip: hello, requests, errors with their code, events, bytes', async ({ near, far }) => {
    const session = fakeSession()
    serveRpc(far, session)
    const client = createRpcClient(near)
    const events: ClientEvent[] = []
    client.onEvent((e) => events.push(e))
    equal((await client.request('identity.get', {})).name, 'Far', 'identity.get')
    const opened = await client.request('doc.open', { docId: 'd1' })
    sameBytes(opened.bytes, pattern(300_000, 3), 'bytes in a result')
    await client.request('presence.set', { workspaceId: 'w1', docId: null, cursor: null })
    equal(events.length, 1, 'the event sent before the response arrived before it')
    equal(events[0]?.type, 'doc.list', 'event type')
    const err = await client.request('doc.read', { docId: 'missing' }).then(
      () => null,
      (e: unknown) => e,
    )
    check(err instanceof GrapevineError && err.code === 'not-found' && err.message === 'No such document.', `error carried: ${String(err)}`)
    client.close()
    await waitUntil('the session to be closed at the far end', () => session.closed)
  })
}

/** Two channels joined in memory, delivering on a later task as real transports do: the reference implementation. */
export function memoryChannelPair(): ChannelPair {
  const ends: Array<ReturnType<typeof createFrameChannel>> = []
  const link = (to: () => ReturnType<typeof createFrameChannel>) =>
    createFrameChannel({
      send: (frame) => void setTimeout(() => to().receive(frame.slice()), 0),
      close: () => void setTimeout(() => to().closed(), 0),
    })
  ends.push(
    link(() => ends[1]!),
    link(() => ends[0]!),
  )
  return { near: ends[0]!.channel, far: ends[1]!.channel, breakFar: () => ends[1]!.channel.close() }
}

/** A session of a pretend peer: enough of `PeerClient` to prove the protocol travels. */
function fakeSession(): PeerClient & { close(): void; closed: boolean } {
  const listeners = new Set<(e: ClientEvent) => void>()
  const results: Record<string, () => unknown> = {
    'identity.get': () => ({ deviceId: 'dev1', name: 'Far' }),
    'doc.open': () => ({ docId: 'd1', bytes: pattern(300_000, 3), heads: [], actor: 'a1' }),
    'presence.set': () => {
      for (const l of listeners) l({ type: 'doc.list', workspaceId: 'w1' })
      return { ok: true }
    },
  }
  const session = {
    closed: false,
    request: (method: string) => {
      const result = results[method]
      return result ? Promise.resolve(result()) : Promise.reject(new GrapevineError('not-found', 'No such document.'))
    },
    onEvent(listener: (e: ClientEvent) => void) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    close() {
      session.closed = true
    },
  }
  return session as unknown as PeerClient & { close(): void; closed: boolean }
}

function collect(channel: FrameChannel): Uint8Array[] {
  const got: Uint8Array[] = []
  channel.onFrame((f) => got.push(f))
  return got
}

function count(channel: FrameChannel): { n: number } {
  const c = { n: 0 }
  channel.onClose(() => c.n++)
  return c
}

/** Deterministic bytes covering every value, so a dropped or reordered chunk shows. */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = Math.imul(seed, 2654435761) >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** Polls `check` until it holds; fails after `ms` with `what`, never hangs to the runner's timeout. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(5)
  }
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message)
}

function equal(actual: unknown, expected: unknown, what: string): void {
  check(actual === expected, `${what}: expected ${String(expected)}, got ${String(actual)}`)
}

function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  check(actual instanceof Uint8Array, `${what}: not a Uint8Array`)
  equal(actual.byteLength, expected.byteLength, `${what} length`)
  for (let i = 0; i < expected.byteLength; i++) if (actual[i] !== expected[i]) throw new Error(`${what}: byte ${i} differs`)
}
