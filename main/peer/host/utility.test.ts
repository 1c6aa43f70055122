/**
 * The desktop host entry driven the way Electron's main process drives it, with Node's own
 * MessageChannel standing in for Electron's MessagePortMain (same messages, same frames).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { runFrameChannelTests } from '../../../shared/frame-channel-contract.ts'
import { portChannel } from '../../../shared/port-channel.ts'
import { createRpcClient } from '../../../shared/rpc.ts'
import { DB_FILE } from '../peer.ts'
import { tempDir, waitFor } from '../test/helpers.ts'
import { onUncaught, runHost, type ToMain } from './utility.ts'

/** Node's MessagePort shaped like Electron's MessagePortMain (`{ data }` events). */
const asPortMain = (p: MessagePort) => ({
  on: (event: 'message' | 'close', l: (e: { data: unknown }) => void) =>
    void p.on(event, (data: unknown) => (event === 'message' ? l({ data }) : (l as () => void)())),
  postMessage: (m: unknown) => p.postMessage(m),
  start: () => p.start(),
  close: () => p.close(),
})

// The host serves each port through the shared adapter, refusing anything but frames: the contract
// holds for it over Electron-shaped ports (`on`, `{ data }`) as the host receives them.
runFrameChannelTests(
  'host portChannel over MessagePortMain-shaped ports',
  async () => {
    const { port1, port2 } = new MessageChannel()
    return {
      near: portChannel(asPortMain(port1)),
      far: portChannel(asPortMain(port2), { nonFrames: 'close' }),
      breakFar: () => port2.close(),
    }
  },
  test,
)

test('main starts the peer, seals its new key, connects a window port, and stops it', async () => {
  const dir = tempDir()
  const toMain: ToMain[] = []
  let toHost: ((e: { data: unknown; ports: ReturnType<typeof asPortMain>[] }) => void) | null = null
  let exited: number | null = null
  runHost(
    {
      on: (_e, l) => {
        toHost = l
      },
      postMessage: (m) => {
        toMain.push(m as ToMain)
        // Main keeps the new key (sealed) and says so.
        if ((m as ToMain).type === 'device-key') setImmediate(() => toHost!({ data: { type: 'device-key-saved' }, ports: [] }))
      },
    },
    (code) => {
      exited = code
    },
  )
  try {
    toHost!({ data: { type: 'hello?' }, ports: [] })
    assert.ok(toMain.some((m) => m.type === 'log' && m.message.includes('malformed')))
    toHost!({ data: { type: 'start', config: { profileDir: dir.path, name: 'Desk', host: '127.0.0.1', mdns: false } }, ports: [] })
    // A window's port may arrive before the peer is ready: it is served once it is.
    const { port1, port2 } = new MessageChannel()
    toHost!({ data: { type: 'connect' }, ports: [asPortMain(port1)] })
    const ready = await waitFor('ready', () => toMain.find((m) => m.type === 'ready'))
    const sealed = toMain.find((m) => m.type === 'device-key')
    assert.ok(sealed && sealed.type === 'device-key' && sealed.key.byteLength > 0, 'the new key went to main to be sealed')
    const client = createRpcClient(portChannel(port2))
    const me = await client.request('identity.get', {})
    assert.equal(ready.type === 'ready' && ready.deviceId, me.deviceId)
    assert.equal(me.name, 'Desk')
    // A window that sends anything but a frame loses its port; the others keep theirs.
    const rogue = new MessageChannel()
    toHost!({ data: { type: 'connect' }, ports: [asPortMain(rogue.port1)] })
    let rogueClosed = false
    rogue.port2.once('close', () => {
      rogueClosed = true
    })
    rogue.port2.postMessage('not a frame')
    await waitFor('the host to close the rogue port', () => rogueClosed, 5000)
    assert.equal((await client.request('identity.get', {})).deviceId, me.deviceId)
    client.close()
    toHost!({ data: { type: 'stop' }, ports: [] })
    await waitFor('the host to exit', () => exited !== null)
    assert.equal(exited, 0)
  } finally {
    dir.remove()
  }
})

/** A parent port as main's: it records what the host sends, and lets the test answer. */
function fakeMain() {
  const toMain: ToMain[] = []
  let toHost: ((e: { data: unknown; ports: [] }) => void) | null = null
  let exited: number | null = null
  runHost(
    {
      on: (_e, l) => {
        toHost = l
      },
      postMessage: (m) => void toMain.push(m as ToMain),
    },
    (code) => {
      exited = code
    },
  )
  return {
    toMain,
    send: (data: unknown) => toHost!({ data, ports: [] }),
    exited: () => exited,
    key: () =>
      waitFor('the key hand-over', () => {
        const m = toMain.find((x) => x.type === 'device-key')
        return m?.type === 'device-key' ? m.key : undefined
      }),
  }
}

/** The raw profile files (database, WAL, shm) holding the key's protobuf or its 32-byte seed. */
function filesHoldingKey(dir: string, pb: Uint8Array): string[] {
  const seed = privateKeyFromProtobuf(pb).raw.subarray(0, 32)
  return [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`].filter((f) => {
    const path = join(dir, f)
    return existsSync(path) && (readFileSync(path).includes(Buffer.from(pb)) || readFileSync(path).includes(Buffer.from(seed)))
  })
}

const metaKeys = (dir: string): string[] => {
  const ro = new Database(join(dir, DB_FILE), { readonly: true })
  try {
    return (ro.prepare('SELECT key FROM meta ORDER BY key').all() as { key: string }[]).map((r) => r.key)
  } finally {
    ro.close()
  }
}

test('the peer neither uses its new key nor reports ready before main confirms it kept it; the database never holds it', async () => {
  const dir = tempDir()
  const main = fakeMain()
  try {
    main.send({ type: 'start', config: { profileDir: dir.path, host: '127.0.0.1', mdns: false } })
    const key = await main.key()
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(
      main.toMain.find((m) => m.type === 'ready'),
      undefined,
      'not ready',
    )
    // The node has not started: it would have remembered its port (listen_port) in the database.
    assert.deepEqual(metaKeys(dir.path), [], 'no key, no marker, no port')
    assert.deepEqual(filesHoldingKey(dir.path, key), [])
    main.send({ type: 'device-key-saved' })
    await waitFor('ready', () => main.toMain.find((m) => m.type === 'ready'))
    // The search index and the history of a new profile are marked built in the background, right after the
    // start, and the port and the address record's number once the network listens (after ready: api/start-gate.ts).
    await waitFor('the search index, the history, the port and the address record marked', () =>
      ['search_indexed', 'history_counted', 'listen_port', 'address_seq'].every((k) => metaKeys(dir.path).includes(k)),
    )
    assert.deepEqual(metaKeys(dir.path), [
      'address_seq',
      'device_key',
      'device_key_scrubbed',
      'history_counted',
      'listen_port',
      'search_indexed',
    ])
    assert.deepEqual(filesHoldingKey(dir.path, key), [], 'while running: not in the database, its WAL or its shm')
    main.send({ type: 'stop' })
    await waitFor('the host to exit', () => main.exited() !== null)
    assert.deepEqual(filesHoldingKey(dir.path, key), [], 'after stop')
  } finally {
    // A failed check must not leave the peer running in this process (the file would never end).
    if (main.exited() === null) {
      main.send({ type: 'stop' })
      await waitFor('the host to exit', () => main.exited() !== null).catch(() => {})
    }
    dir.remove()
  }
})

test('main failing to keep the new key: a clear fatal error, exit 1, and no key in the database', async () => {
  const dir = tempDir()
  const main = fakeMain()
  try {
    main.send({ type: 'start', config: { profileDir: dir.path, host: '127.0.0.1', mdns: false } })
    const key = await main.key()
    main.send({ type: 'device-key-failed', message: 'ENOSPC: no space left on device' })
    await waitFor('the host to exit', () => main.exited() !== null)
    assert.equal(main.exited(), 1)
    const fatal = main.toMain.find((m) => m.type === 'fatal')
    assert.ok(fatal?.type === 'fatal')
    assert.match(fatal.message, /could not be kept in the system key store: ENOSPC: no space left on device\..*did not start/)
    assert.equal(
      main.toMain.find((m) => m.type === 'ready'),
      undefined,
    )
    assert.deepEqual(metaKeys(dir.path), [])
    assert.deepEqual(filesHoldingKey(dir.path, key), [])
  } finally {
    dir.remove()
  }
})

test("an error thrown outside any call: libp2p's use of a closed stream is logged and survived, anything else is fatal", () => {
  const sent: ToMain[] = []
  const exits: number[] = []
  const parent = { on: () => {}, postMessage: (m: unknown) => void sent.push(m as ToMain) }
  const closedStream = Object.assign(new Error('Cannot write to a stream that is closed'), { name: 'StreamStateError' })
  onUncaught(closedStream, parent, (code) => exits.push(code))
  assert.equal(exits.length, 0, 'the peer goes on')
  assert.equal(sent.length, 1)
  assert.equal(sent[0]!.type, 'log')
  assert.match((sent[0] as { message: string }).message, /closed stream.*Cannot write to a stream that is closed/s)
  onUncaught(new TypeError('x is not a function'), parent, (code) => exits.push(code))
  assert.deepEqual(exits, [1], 'any other error ends the process')
  assert.equal(sent[1]!.type, 'fatal')
  assert.match((sent[1] as { message: string }).message, /TypeError: x is not a function/)
})
