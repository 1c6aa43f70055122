/**
 * main/index.ts boots and does its job under plain Node, with 'electron' replaced by a fake
 * (main/electron/fake-electron.ts) whose utilityProcess is a scripted peer serving the real client
 * protocol. This checks the wiring the unit tests cannot: the boot order, the ports handed to a
 * window, a crash and restart, deep links, notifications, the badge and a clean quit.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { PEER_NODE_FLAGS } from '../shared/peer-runtime.ts'
import { createRpcClient } from '../shared/rpc.ts'
import { portChannel } from './port-channel.ts'
import type { FakeElectron } from './electron/fake-electron.ts'
import type { FakePort } from './electron/fake-ports.ts'

const FAKE = resolve(import.meta.dirname, 'electron', 'fake-electron.ts')
const COLD_LINK = 'grapevine://join/GV1.coldstart'
let dir: string
let fake: FakeElectron
type Win = InstanceType<FakeElectron['BrowserWindow']>

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
const notices = (w: Win) => w.webContents.sent.filter((s) => s.channel === 'grapevine:notice').map((s) => s.message)
const portSends = (w: Win) => w.webContents.sent.filter((s) => s.channel === 'grapevine:port')
const ports = (w: Win) => portSends(w).map((s) => s.ports![0] as FakePort)
const hello = (w: Win, url = 'app://grapevine/index.html') =>
  fake.ipcMain.emit('grapevine:hello', { sender: w.webContents, senderFrame: { url, parent: null } })

describe('main process boot (fake Electron)', () => {
  let win: Win

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gv-boot-'))
    const outfile = join(dir, 'out', 'main', 'index.js')
    await build({
      entryPoints: [resolve(import.meta.dirname, 'index.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'error',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      plugins: [{ name: 'fake-electron', setup: (b) => b.onResolve({ filter: /^electron$/ }, () => ({ path: FAKE })) }],
    })
    process.env['GRAPEVINE_USER_DATA'] = join(dir, 'userData')
    process.env['NODE_ENV'] = 'production'
    process.argv.push(COLD_LINK)
    await import(pathToFileURL(outfile).href)
    fake = (globalThis as { __fakeElectron?: FakeElectron }).__fakeElectron!
  })

  after(async () => {
    // Let the log's last asynchronous appends land before the folder goes.
    await new Promise((r) => setTimeout(r, 200))
    rmSync(dir, { recursive: true, force: true })
  })

  test('before ready: single-instance lock with the link, sandbox for all, the app scheme', () => {
    assert.deepEqual(fake.app.lockData, { inviteLink: COLD_LINK })
    assert.equal(fake.app.sandboxed, true)
    assert.deepEqual(
      fake.registered.schemes.map((s) => (s as { scheme: string }).scheme),
      ['app'],
    )
    assert.equal(fake.app.getPath('userData'), join(dir, 'userData'))
  })

  test('on ready: a hardened window on our page, the menu, the protocol handler and the peer', async () => {
    fake.app.becomeReady()
    await until('a window', () => fake.BrowserWindow.all.length === 1)
    win = fake.BrowserWindow.all[0]!
    const prefs = win.options['webPreferences'] as Record<string, unknown>
    assert.deepEqual(
      [prefs['sandbox'], prefs['contextIsolation'], prefs['nodeIntegration'], prefs['webSecurity']],
      [true, true, false, true],
    )
    assert.equal(prefs['preload'], join(dir, 'out', 'preload', 'index.cjs'))
    assert.equal(win.webContents.url, 'app://grapevine/index.html')
    assert.ok(win.webContents.openHandler, 'window.open handler installed')
    assert.ok(fake.registered.handlers.has('app'))
    assert.ok(fake.sessionHandlers['request'] && fake.sessionHandlers['check'] && fake.sessionHandlers['headers'])
    assert.equal(fake.menus.length, 1)
    await until('the peer to be forked', () => fake.forks.length === 1)
    assert.equal(fake.forks[0]!.entry, join(dir, 'out', 'peer', 'utility.js'))
    assert.deepEqual(fake.forks[0]!.options?.execArgv, [...PEER_NODE_FLAGS], "the peer's Node flags (shared/peer-runtime.ts)")
    assert.deepEqual(fake.forks[0]!.received[0], { type: 'start', config: { profileDir: join(dir, 'userData', 'profile') } })
  })

  test('the new device key is sealed in userData, and never sent to a window', async () => {
    const sealed = join(dir, 'userData', 'device-key.sealed')
    await until('the sealed key', () => existsSync(sealed))
    assert.equal(readFileSync(sealed, 'utf8'), `sealed:${Buffer.from([8, 1, 18, 64, 7, 7]).toString('base64')}`)
  })

  test("a page's hello gets the peer status, ports to the peer (its own and its editor worker's), and the pending invite", async () => {
    hello(win)
    await until('a port', () => ports(win).length === 1)
    assert.equal(portSends(win)[0]!.ports!.length, 2, "the page's port and its editor worker's, in one message")
    assert.deepEqual(notices(win), [
      { grapevine: 'peer-status', value: 'ready' },
      { grapevine: 'open-invite', value: COLD_LINK },
    ])
    const client = createRpcClient(portChannel(ports(win)[0]!))
    assert.deepEqual(await client.request('workspace.list', {}), [{ id: 'w1' }])
    client.close()
    const editor = createRpcClient(portChannel(portSends(win)[0]!.ports![1] as FakePort))
    assert.deepEqual(await editor.request('workspace.list', {}), [{ id: 'w1' }], 'a session of its own')
    editor.close()
  })

  test('a hello from a window that is not ours, or from another page, gets nothing', async () => {
    const stranger = new fake.BrowserWindow({})
    hello(stranger)
    hello(win, 'https://evil.example/')
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(ports(stranger).length, 0)
    assert.equal(ports(win).length, 1)
    await until('the log line', () => /dropped IPC "grapevine:hello": sender is not one of our windows/.test(readLog()))
  })

  test('navigation away from the app is refused on every web contents', () => {
    let prevented = false
    win.webContents.emit('will-navigate', {
      url: 'https://evil.example/',
      preventDefault: () => {
        prevented = true
      },
    })
    assert.ok(prevented)
    assert.deepEqual(win.webContents.openHandler!({ url: 'https://evil.example/' }), { action: 'deny' })
  })

  test('the badge shows unread documents; a teammate edit notifies while unfocused', async () => {
    await until('the badge', () => fake.app.badge === 1)
    fake.forks[0]!.events.emit('event', { type: 'doc.activity', workspaceId: 'w1', docId: 'd1', title: 'Plan', by: 'p', byName: 'Ana' })
    await until('a notification', () => fake.notifications.length === 1)
    assert.deepEqual(fake.notifications[0], { title: 'Plan', body: 'Ana edited this document.' })
  })

  test('a crashed peer is restarted with the sealed key, and the window gets a notice and a fresh port', async () => {
    fake.forks[0]!.crash()
    await until('the restart notice', () => notices(win).some((n) => (n as { value: string }).value === 'restarting'))
    await until('a second peer', () => fake.forks.length === 2)
    const start = fake.forks[1]!.received[0] as { config: { deviceKey?: Uint8Array } }
    assert.deepEqual(start.config.deviceKey, new Uint8Array([8, 1, 18, 64, 7, 7]))
    await until('a fresh port', () => ports(win).length === 2)
    assert.deepEqual(notices(win).at(-1), { grapevine: 'peer-status', value: 'ready' })
    assert.match(readLog(), /peer stopped unexpectedly \(exit code 1\)/)
  })

  test('a link from a second instance reaches the window; a bad one does not', async () => {
    const before = notices(win).length
    fake.app.emit('second-instance', {}, ['/opt/grapevine', 'grapevine://join/GV1.second'], '/', { inviteLink: null })
    fake.app.emit('second-instance', {}, ['/opt/grapevine', 'grapevine://join/<script>'], '/', {})
    assert.deepEqual(notices(win).slice(before), [{ grapevine: 'open-invite', value: 'grapevine://join/GV1.second' }])
  })

  test('quitting stops the peer first, then quits', async () => {
    fake.app.quit()
    assert.deepEqual(fake.forks[1]!.received.at(-1), { type: 'stop' })
    await until('the second quit', () => fake.app.quitCalls === 2)
  })
})

function readLog(): string {
  try {
    return readFileSync(join(dir, 'userData', 'logs', 'main.log'), 'utf8')
  } catch {
    return ''
  }
}
