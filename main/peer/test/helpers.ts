/** Test helpers: peers on 127.0.0.1 with profiles in temp folders, and bounded waiting. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { createPeer, type Peer, type PeerConfig } from '../peer.ts'
import { consoleLog, silentLog } from '../log.ts'
import { SqliteStore } from '../store/sqlite-store.ts'
import { loadOrCreateDevice, type Device } from '../identity/device.ts'

export function tempDir(prefix = 'grapevine-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** A stand-in for the built renderer in a temp folder (a page and one asset), for browser mode's UI server. */
/** A test file's temp folders and running peers: after its tests the peers are stopped and the folders removed. */
export function stopAndRemoveAfter(): { dirs: ReturnType<typeof tempDir>[]; running: Peer[] } {
  const dirs: ReturnType<typeof tempDir>[] = []
  const running: Peer[] = []
  after(async () => {
    await Promise.allSettled(running.map((p) => p.stop()))
    for (const d of dirs) d.remove()
  })
  return { dirs, running }
}

export function tempSite(): { path: string; remove(): void } {
  const site = tempDir('grapevine-site-')
  mkdirSync(join(site.path, 'assets'))
  writeFileSync(join(site.path, 'index.html'), '<!doctype html><title>Grapevine</title>')
  writeFileSync(join(site.path, 'assets', 'app.js'), 'console.log(1)')
  return site
}

/** Runs `fn` with a temp folder that is removed afterwards. */
export async function inTemp(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = tempDir()
  try {
    await fn(dir.path)
  } finally {
    dir.remove()
  }
}

export const testLog = process.env['GRAPEVINE_TEST_LOG'] ? consoleLog('debug') : silentLog

/** A peer on 127.0.0.1 (never all interfaces), mDNS off. */
export function startPeer(profileDir: string, extra: Partial<PeerConfig> = {}): Promise<Peer> {
  return createPeer({ profileDir, host: '127.0.0.1', port: 0, mdns: false, log: testLog, catchupIntervalMs: 3_000, ...extra })
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v) return v as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** Forms a workspace on `owner` and has every other peer join it with its own invite. */
export async function formWorkspace(owner: Peer, others: Peer[], name = 'Team'): Promise<string> {
  const o = owner.connect()
  const ws = await o.request('workspace.create', { name })
  for (const p of others) {
    const invite = await o.request('workspace.invite', { workspaceId: ws.id, approve: false })
    await p.connect().request('workspace.join', { code: invite.code })
  }
  return ws.id
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** Records the topics a peer publishes on (gossipsub) until `restore`. */
export function recordPublishes(peer: Peer): { topics: string[]; restore(): void } {
  const pubsub = peer.node.services.pubsub
  const publish = pubsub.publish
  const topics: string[] = []
  pubsub.publish = ((topic: string, data?: Uint8Array) => {
    topics.push(topic)
    return publish.call(pubsub, topic, data)
  }) as typeof pubsub.publish
  return {
    topics,
    restore: () => {
      pubsub.publish = publish
    },
  }
}

/**
 * Runs a child script that prints `ACK n` for each acknowledged write, and SIGKILLs it once `acks` have come
 * (or `limitMs` passed). Returns the acknowledged numbers; every other line goes to `onLine`.
 */
export async function killAfterAcks(
  script: string,
  args: string[],
  acks: number,
  limitMs: number,
  onLine: (line: string) => void = () => {},
  /** Killed only once this also holds (checked with each line the writer prints); `limitMs` still bounds it. */
  ready: () => boolean = () => true,
): Promise<number[]> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const acked: number[] = []
  let buffered = ''
  let killed = false
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const kill = (): void => {
    if (killed) return
    killed = true
    child.kill('SIGKILL')
  }
  const timer = setTimeout(kill, limitMs)
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    for (const l of lines) {
      if (l.startsWith('ACK ')) acked.push(Number(l.slice(4)))
      else onLine(l)
    }
    if (acked.length >= acks && ready()) kill()
  })
  await exited
  clearTimeout(timer)
  assert.ok(killed, 'the writer was killed, it did not stop by itself')
  return acked
}

/** Two devices (Ana and Ben), each with its own store in one temp folder, for tests without a network; `close` removes them. */
export async function twoDevices(): Promise<{ ana: Device; ben: Device; close(): void }> {
  const dir = tempDir()
  const stores = [new SqliteStore(join(dir.path, 'a.db')), new SqliteStore(join(dir.path, 'b.db'))]
  const [ana, ben] = (await Promise.all(stores.map((s) => loadOrCreateDevice(s)))) as [Device, Device]
  return {
    ana,
    ben,
    close: () => {
      for (const s of stores) s.close()
      dir.remove()
    },
  }
}
