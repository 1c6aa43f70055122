/**
 * The window's preload (preload/index.ts), bundled as the app bundles it, run against a stand-in window and
 * 'electron' (main/electron/fake-preload-electron.ts): it hands the page main's ports and notices only once
 * the page has loaded (the newest ports only; notices checked and bounded), says hello to main after the
 * load and again when the page asks for fresh ports, exposes nothing but the platform, and does nothing at
 * all in a page of another origin. Electron's own part (the sandbox, IPC, real MessagePorts) needs its
 * binary, which this machine cannot download.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { APP_ORIGIN, HELLO_CHANNEL, NOTICE_CHANNEL, PORT_CHANNEL, PORT_MESSAGE, PORTS_AGAIN_MESSAGE } from '../shared/desktop-bridge.ts'
import type { FakePreloadElectron } from './electron/fake-preload-electron.ts'

const FAKE = resolve(import.meta.dirname, 'electron', 'fake-preload-electron.ts')
let dir: string
let bundle: string
let loads = 0

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gv-preload-'))
  bundle = join(dir, 'preload.mjs')
  await build({
    entryPoints: [resolve(import.meta.dirname, '..', 'preload', 'index.ts')],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    logLevel: 'error',
    plugins: [{ name: 'fake-electron', setup: (b) => b.onResolve({ filter: /^electron$/ }, () => ({ path: FAKE })) }],
  })
})
after(() => rmSync(dir, { recursive: true, force: true }))

class FakePort {
  closed = false
  close(): void {
    this.closed = true
  }
}

class FakeWindow extends EventTarget {
  readonly location: { origin: string }
  readonly posted: { data: unknown; origin: string; ports: unknown[] }[] = []
  constructor(origin: string) {
    super()
    this.location = { origin }
  }
  postMessage(data: unknown, origin: string, ports: unknown[] = []): void {
    this.posted.push({ data, origin, ports })
  }
  /** A message event as the page would see one. */
  message(data: unknown, source: unknown, origin: string): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data, source, origin }))
  }
}

/** A fresh preload (its own module state) in a window of `origin`. */
async function preload(origin = APP_ORIGIN): Promise<{ win: FakeWindow; electron: FakePreloadElectron }> {
  const win = new FakeWindow(origin)
  const electron: FakePreloadElectron = { listeners: new Map(), sent: [], exposed: new Map() }
  Object.assign(globalThis, { window: win, __fakePreloadElectron: electron })
  await import(`${pathToFileURL(bundle).href}?load=${++loads}`)
  return { win, electron }
}

const ports = (electron: FakePreloadElectron, pair: unknown[]): void => electron.listeners.get(PORT_CHANNEL)!({ ports: pair })
const notice = (electron: FakePreloadElectron, raw: unknown): void => electron.listeners.get(NOTICE_CHANNEL)!({ ports: [] }, raw)

test('ports and notices wait for the page to load; only the newest ports are kept, and main hears hello once loaded', async () => {
  const { win, electron } = await preload()
  const old = [new FakePort(), new FakePort()]
  const newest = [new FakePort(), new FakePort()]
  ports(electron, old)
  ports(electron, newest)
  ports(electron, [new FakePort()]) // not a pair: ignored
  notice(electron, { grapevine: 'menu', value: 'new-document' })
  notice(electron, { grapevine: 'menu', value: 'format-disk' }) // no such command
  notice(electron, { grapevine: 'open-document', value: '../../etc' })
  notice(electron, 'peer-status: ready')
  assert.deepEqual(win.posted, [], 'nothing reaches the page before it loads')
  assert.deepEqual(electron.sent, [], 'nor does main hear hello')
  assert.ok(old.every((p) => p.closed) && newest.every((p) => !p.closed), 'the older pair is closed')
  win.dispatchEvent(new Event('load'))
  assert.deepEqual(win.posted, [
    { data: PORT_MESSAGE, origin: APP_ORIGIN, ports: newest },
    { data: { grapevine: 'menu', value: 'new-document' }, origin: APP_ORIGIN, ports: [] },
  ])
  assert.deepEqual(electron.sent, [HELLO_CHANNEL])
  // Once loaded, what comes is passed on at once.
  const again = [new FakePort(), new FakePort()]
  ports(electron, again)
  notice(electron, { grapevine: 'peer-status', value: 'restarting' })
  assert.deepEqual(win.posted.slice(2), [
    { data: PORT_MESSAGE, origin: APP_ORIGIN, ports: again },
    { data: { grapevine: 'peer-status', value: 'restarting' }, origin: APP_ORIGIN, ports: [] },
  ])
})

test('at most 32 notices wait for the load', async () => {
  const { win, electron } = await preload()
  for (let i = 0; i < 40; i++) notice(electron, { grapevine: 'open-document', value: `doc${i}` })
  win.dispatchEvent(new Event('load'))
  assert.deepEqual(
    win.posted.map((p) => (p.data as { value: string }).value),
    Array.from({ length: 32 }, (_, i) => `doc${i}`),
  )
})

test('fresh ports are asked of main only for the page itself, of its origin, once it has loaded', async () => {
  const { win, electron } = await preload()
  win.message(PORTS_AGAIN_MESSAGE, win, APP_ORIGIN)
  assert.deepEqual(electron.sent, [], 'not before the load')
  win.dispatchEvent(new Event('load'))
  assert.deepEqual(electron.sent, [HELLO_CHANNEL])
  win.message(PORTS_AGAIN_MESSAGE, {}, APP_ORIGIN) // from a frame, not the page
  win.message(PORTS_AGAIN_MESSAGE, win, 'https://example.com')
  win.message('something else', win, APP_ORIGIN)
  assert.deepEqual(electron.sent, [HELLO_CHANNEL], 'nothing else asks')
  win.message(PORTS_AGAIN_MESSAGE, win, APP_ORIGIN)
  assert.deepEqual(electron.sent, [HELLO_CHANNEL, HELLO_CHANNEL])
})

test('the page is given the platform and nothing else; a page of another origin is given nothing', async () => {
  const ours = await preload()
  assert.deepEqual([...ours.electron.exposed.keys()], ['grapevine'])
  const api = ours.electron.exposed.get('grapevine')
  assert.deepEqual(api, { platform: process.platform })
  assert.ok(Object.isFrozen(api))
  const other = await preload('https://example.com')
  assert.equal(other.electron.listeners.size, 0, 'no IPC listened to')
  assert.equal(other.electron.exposed.size, 0, 'nothing exposed')
  other.win.dispatchEvent(new Event('load'))
  assert.deepEqual(other.electron.sent, [], 'no hello')
})
