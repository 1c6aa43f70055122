/**
 * Main's side of the peer process against the real, bundled peer (out/peer/utility.js) in a worker
 * thread standing in for Electron's utilityProcess: the supervisor starts it, main keeps its new
 * key, a client talks to it over a port, a crash is restarted as the same device, stop is clean.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { createRpcClient } from '../shared/rpc.ts'
import { buildElectron, BUNDLES, ROOT } from '../scripts/build-electron.ts'
import { DeviceKeyStore, nodeKeyFileIo } from './device-key.ts'
import { PeerSupervisor, type ChildProcessLike, type PeerState } from './peer-process.ts'
import { PortBroker } from './peer-ports.ts'
import { portChannel } from './port-channel.ts'
import { asPortMain } from './electron/utility-worker.ts'

const SHIM = resolve(import.meta.dirname, 'electron', 'utility-worker.ts')
const DB = 'grapevine.db'

/** The profile's raw database files that hold the key's protobuf or its 32-byte seed (bytes 4..36 of it). */
function filesHoldingKey(profile: string, pb: Uint8Array): string[] {
  const seed = pb.subarray(4, 36)
  return [DB, `${DB}-wal`, `${DB}-shm`].filter((f) => {
    const path = join(profile, f)
    return existsSync(path) && (readFileSync(path).includes(Buffer.from(pb)) || readFileSync(path).includes(Buffer.from(seed)))
  })
}

/** A worker thread dressed as Electron's UtilityProcess. */
function forkWorker(entry: string): ChildProcessLike & { terminate(): void } {
  const events = new EventEmitter()
  const worker = new Worker(SHIM, { workerData: { entry }, stdout: false, stderr: false })
  worker.on('message', (m) => events.emit('message', m))
  worker.on('exit', (code) => events.emit('exit', code))
  worker.on('error', (err) => events.emit('message', { type: 'log', level: 'error', message: String(err) }))
  return {
    on: (event: string, l: (...a: unknown[]) => void) => events.on(event, l),
    postMessage: (msg, transfer) => worker.postMessage({ msg, ports: transfer }, (transfer ?? []) as MessagePort[]),
    kill: () => {
      void worker.terminate()
      return true
    },
    terminate: () => void worker.terminate(),
  } as ChildProcessLike & { terminate(): void }
}

describe('the peer process, supervised (real peer bundle in a worker)', () => {
  let dir: string
  const states: PeerState[] = []
  const logs: string[] = []
  let sup: PeerSupervisor
  let broker: PortBroker<MessagePort>
  let current: ReturnType<typeof forkWorker>
  let forks = 0
  const fakeKeyStore = {
    isEncryptionAvailable: () => true,
    encryptString: (s: string) => Buffer.from(`sealed:${s}`),
    decryptString: (b: Buffer) => b.toString().slice(7),
  }
  const until = async (what: string, cond: () => boolean, ms = 30_000) => {
    const end = Date.now() + ms
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; logs:\n${logs.slice(-20).join('\n')}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const client = () => {
    const port = broker.openLocal()
    assert.ok(port, 'the peer takes a client')
    return createRpcClient(portChannel(asPortMain(port)))
  }

  before(async () => {
    await buildElectron()
    dir = mkdtempSync(join(tmpdir(), 'gv-host-'))
    const keys = new DeviceKeyStore(dir, fakeKeyStore)
    sup = new PeerSupervisor({
      fork: () => {
        forks++
        current = forkWorker(join(ROOT, BUNDLES.peer))
        return current
      },
      startConfig: async () => {
        const stored = await keys.load()
        return { profileDir: join(dir, 'profile'), host: '127.0.0.1', mdns: false, ...(stored ? { deviceKey: stored.key } : {}) }
      },
      // As peer-host.ts: the peer hears back only once the key is sealed and written.
      onDeviceKey: async (key) => void (await keys.save(key)),
      onLog: (level, m) => logs.push(`${level} ${m}`),
      onState: (s) => states.push(s),
      // Time for the test to clear the dead worker's lock before the restart (see below).
      policy: { maxRestarts: 3, windowMs: 60_000, delaysMs: [1000] },
    })
    broker = new PortBroker<MessagePort>({
      newChannel: () => {
        const { port1, port2 } = new MessageChannel()
        return { peerSide: port1, pageSide: port2 }
      },
      connectPeer: (port) => sup.connect(port),
      close: (port) => port.close(),
    })
  })

  after(async () => {
    await sup?.stop(5000)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  let deviceId = ''
  test('starts, hands main its new key, and serves a client', async () => {
    sup.start()
    await until('ready', () => sup.state === 'ready')
    const c = client()
    deviceId = (await c.request('identity.get', {})).deviceId
    await c.request('workspace.create', { name: 'Studio' })
    c.close()
    await until('the sealed key', () => existsSync(join(dir, 'device-key.sealed')))
  })

  test('the key is kept only sealed by main: no byte of it in the profile database, WAL or shm; the profile is private', async () => {
    const kept = await new DeviceKeyStore(dir, fakeKeyStore).load()
    assert.ok(kept && kept.key.byteLength === 68, 'an Ed25519 key protobuf')
    const profile = join(dir, 'profile')
    assert.ok(existsSync(join(profile, `${DB}-wal`)), 'the running peer has its WAL')
    assert.deepEqual(filesHoldingKey(profile, kept.key), [])
    if (process.platform !== 'win32') {
      const mode = (f: string) => (statSync(join(profile, f)).mode & 0o777).toString(8)
      assert.deepEqual(['.', DB, `${DB}-wal`, `${DB}-shm`, 'peer.lock'].map(mode), ['700', '600', '600', '600', '600'])
    }
  })

  test('after a crash it is restarted as the same device, with its data', async () => {
    current.terminate()
    // A worker shares this test's pid, so the dead peer's profile lock would look alive; a real
    // utilityProcess has its own pid, and its lock is stale once it dies. Make it so here.
    await until('the worker to die', () => states.includes('restarting'))
    rmSync(join(dir, 'profile', 'peer.lock'), { force: true })
    await until('restart', () => states.at(-1) === 'ready' && states.includes('restarting'))
    const c = client()
    assert.equal((await c.request('identity.get', {})).deviceId, deviceId)
    assert.deepEqual(
      (await c.request('workspace.list', {})).map((w) => w.name),
      ['Studio'],
    )
    c.close()
  })

  test('stop is clean: the peer exits 0 and is not restarted', async () => {
    const before = forks
    await sup.stop(10_000)
    assert.deepEqual(states.slice(-2), ['stopping', 'stopped'])
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(forks, before)
  })
})

describe('the peer process, when main cannot keep the key (real peer bundle in a worker)', () => {
  test('the start fails with a clear reason; the profile holds no key and no marker', async () => {
    await buildElectron()
    const dir = mkdtempSync(join(tmpdir(), 'gv-host-'))
    const states: Array<[PeerState, string | undefined]> = []
    let key: Uint8Array | undefined
    const keys = new DeviceKeyStore(
      dir,
      { isEncryptionAvailable: () => true, encryptString: (s) => Buffer.from(s), decryptString: (b) => b.toString() },
      {
        ...nodeKeyFileIo,
        write: async () => {
          throw new Error('EROFS: read-only file system')
        },
      },
    )
    const sup = new PeerSupervisor({
      fork: () => forkWorker(join(ROOT, BUNDLES.peer)),
      startConfig: async () => ({ profileDir: join(dir, 'profile'), host: '127.0.0.1', mdns: false }),
      onDeviceKey: async (k) => {
        key = k
        await keys.save(k)
      },
      onLog: () => {},
      onState: (s, d) => void states.push([s, d]),
    })
    try {
      sup.start()
      const end = Date.now() + 30_000
      while (sup.state !== 'failed' && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
      assert.equal(sup.state, 'failed')
      assert.ok(!states.some(([s]) => s === 'ready'), 'never ready')
      assert.match(states.at(-1)?.[1] ?? '', /could not be kept in the system key store: EROFS: read-only file system/)
      assert.ok(key)
      assert.deepEqual(filesHoldingKey(join(dir, 'profile'), key), [])
      const ro = new Database(join(dir, 'profile', DB), { readonly: true })
      assert.deepEqual(ro.prepare('SELECT key FROM meta').all(), [])
      ro.close()
    } finally {
      await sup.stop(5000)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
