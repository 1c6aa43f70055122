/**
 * A stand-in for the 'electron' module, just enough for main/index.ts to boot under plain Node
 * (main/boot.test.ts bundles main with 'electron' aliased to this file). Its utilityProcess is a
 * scripted peer that speaks the real host contract and serves the real client protocol.
 * The test reaches the instances through `globalThis.__fakeElectron`.
 */
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { serveRpc } from '../../shared/rpc.ts'
import type { ClientEvent, PeerClient } from '../../shared/protocol.ts'
import { portChannel } from '../port-channel.ts'
import { FakePort } from './fake-ports.ts'

class FakeApp extends EventEmitter {
  name = 'grapevine'
  isPackaged = false
  sandboxed = false
  lockData: unknown
  badge = -1
  quitCalls = 0
  private ready = false
  private readonly paths = new Map<string, string>()
  private readonly readyPromise: Promise<void>
  private resolveReady!: () => void
  constructor() {
    super()
    this.readyPromise = new Promise((r) => {
      this.resolveReady = r
    })
  }
  setName(n: string) {
    this.name = n
  }
  setAppUserModelId() {}
  getName() {
    return this.name
  }
  getVersion() {
    return '0.0.0-test'
  }
  getPath(n: string) {
    return this.paths.get(n) ?? join('/nonexistent', n)
  }
  setPath(n: string, p: string) {
    this.paths.set(n, p)
  }
  setAppLogsPath() {
    this.paths.set('logs', join(this.getPath('userData'), 'logs'))
  }
  requestSingleInstanceLock(data: unknown) {
    this.lockData = data
    return true
  }
  enableSandbox() {
    this.sandboxed = true
  }
  setAsDefaultProtocolClient() {
    return true
  }
  isReady() {
    return this.ready
  }
  whenReady() {
    return this.readyPromise
  }
  setBadgeCount(n: number) {
    this.badge = n
    return true
  }
  exit() {}
  becomeReady() {
    this.ready = true
    this.emit('ready')
    this.resolveReady()
  }
  quit() {
    this.quitCalls++
    const event = {
      defaultPrevented: false,
      preventDefault() {
        this.defaultPrevented = true
      },
    }
    this.emit('before-quit', event)
  }
}

let nextId = 1
class FakeWebContents extends EventEmitter {
  readonly id = nextId++
  url = ''
  destroyed = false
  sent: Array<{ channel: string; message: unknown; ports?: unknown[] }> = []
  openHandler: ((d: { url: string }) => unknown) | null = null
  isDestroyed() {
    return this.destroyed
  }
  postMessage(channel: string, message: unknown, ports?: unknown[]) {
    this.sent.push({ channel, message, ...(ports ? { ports } : {}) })
  }
  send(channel: string, message: unknown) {
    this.sent.push({ channel, message })
  }
  setWindowOpenHandler(h: (d: { url: string }) => unknown) {
    this.openHandler = h
  }
}

class FakeBrowserWindow extends EventEmitter {
  static all: FakeBrowserWindow[] = []
  static focused: FakeBrowserWindow | null = null
  readonly webContents = new FakeWebContents()
  destroyed = false
  readonly options: Record<string, unknown>
  constructor(options: Record<string, unknown>) {
    super()
    this.options = options
    FakeBrowserWindow.all.push(this)
    app.emit('web-contents-created', {}, this.webContents)
    setImmediate(() => this.emit('ready-to-show'))
  }
  static getAllWindows() {
    return FakeBrowserWindow.all.filter((w) => !w.destroyed)
  }
  static fromWebContents(wc: unknown) {
    return FakeBrowserWindow.all.find((w) => w.webContents === wc) ?? null
  }
  static getFocusedWindow() {
    return FakeBrowserWindow.focused
  }
  async loadURL(url: string) {
    this.webContents.url = url
  }
  maximize() {}
  show() {}
  focus() {
    FakeBrowserWindow.focused = this
  }
  restore() {}
  isFocused() {
    return FakeBrowserWindow.focused === this
  }
  isMinimized() {
    return false
  }
  isMaximized() {
    return false
  }
  isDestroyed() {
    return this.destroyed
  }
  getNormalBounds() {
    return { x: 10, y: 20, width: 1100, height: 700 }
  }
}

/** The scripted peer: answers the host contract, serves a tiny client session on each port. */
class FakeUtilityProcess extends EventEmitter {
  received: unknown[] = []
  readonly events = new EventEmitter()
  killed = false
  readonly entry: string
  readonly options: { execArgv?: string[] } | undefined
  constructor(entry: string, options?: { execArgv?: string[] }) {
    super()
    this.entry = entry
    this.options = options
  }
  postMessage(message: { type: string; config?: { deviceKey?: Uint8Array } }, transfer?: unknown[]) {
    this.received.push(message)
    if (message.type === 'start') {
      setImmediate(() => {
        if (!message.config?.deviceKey) this.emit('message', { type: 'device-key', key: new Uint8Array([8, 1, 18, 64, 7, 7]) })
        this.emit('message', { type: 'log', level: 'info', message: 'fake peer listening' })
        this.emit('message', { type: 'ready', deviceId: '12D3KooWFake' })
      })
    }
    if (message.type === 'connect') serveRpc(portChannel(transfer![0] as FakePort), this.session())
    if (message.type === 'stop') setImmediate(() => this.emit('exit', 0))
  }
  kill() {
    this.killed = true
    setImmediate(() => this.emit('exit', 143))
    return true
  }
  crash() {
    this.emit('exit', 1)
  }
  private session(): PeerClient & { close(): void } {
    return {
      request: (async (method: string) => {
        if (method === 'workspace.list') return [{ id: 'w1' }]
        if (method === 'doc.list')
          return [
            { id: 'd1', unread: true, deleted: false },
            { id: 'd2', unread: false, deleted: false },
          ]
        throw new Error(`fake peer: ${method}`)
      }) as PeerClient['request'],
      onEvent: (l: (e: ClientEvent) => void) => {
        this.events.on('event', l)
        return () => this.events.off('event', l)
      },
      close: () => {},
    }
  }
}

export const app = new FakeApp()
export const BrowserWindow = FakeBrowserWindow
export const ipcMain = Object.assign(new EventEmitter(), { handle() {}, removeHandler() {} })
export const screen = { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] }
export const nativeTheme = { shouldUseDarkColors: false }
export const registered: { schemes: unknown[]; handlers: Map<string, (r: { url: string; method: string }) => Promise<Response>> } = {
  schemes: [],
  handlers: new Map(),
}
export const protocol = {
  registerSchemesAsPrivileged: (s: unknown[]) => {
    registered.schemes.push(...s)
  },
  handle: (scheme: string, h: (r: { url: string; method: string }) => Promise<Response>) => {
    registered.handlers.set(scheme, h)
  },
}
export const sessionHandlers: Record<string, unknown> = {}
export const session = {
  defaultSession: {
    setPermissionRequestHandler: (h: unknown) => {
      sessionHandlers['request'] = h
    },
    setPermissionCheckHandler: (h: unknown) => {
      sessionHandlers['check'] = h
    },
    webRequest: {
      onHeadersReceived: (h: unknown) => {
        sessionHandlers['headers'] = h
      },
    },
  },
}
export const menus: unknown[] = []
export const Menu = {
  buildFromTemplate: (t: unknown) => t,
  setApplicationMenu: (m: unknown) => {
    menus.push(m)
  },
}
export const notifications: Array<{ title: string; body: string }> = []
export class Notification extends EventEmitter {
  static isSupported() {
    return true
  }
  readonly options: { title: string; body: string }
  constructor(options: { title: string; body: string }) {
    super()
    this.options = options
  }
  show() {
    notifications.push(this.options)
  }
}
export const dialogs: unknown[] = []
export const dialog = {
  showMessageBox: async (o: unknown) => {
    dialogs.push(o)
    return { response: 2 }
  },
  showErrorBox: (title: string, body: string) => {
    dialogs.push({ title, body })
  },
}
export const shell = { openExternal: async () => {}, showItemInFolder: () => {} }
export const webContents = {
  fromId: (id: number) => FakeBrowserWindow.all.find((w) => w.webContents.id === id)?.webContents,
  getAllWebContents: () => FakeBrowserWindow.all.map((w) => w.webContents),
}
export const forks: FakeUtilityProcess[] = []
export const utilityProcess = {
  fork: (entry: string, _args?: string[], options?: { execArgv?: string[] }) => {
    const p = new FakeUtilityProcess(entry, options)
    forks.push(p)
    return p
  },
}
export class MessageChannelMain {
  readonly port1: FakePort
  readonly port2: FakePort
  constructor() {
    ;[this.port1, this.port2] = FakePort.pair()
  }
}
export const safeStorage = {
  isEncryptionAvailable: () => true,
  encryptString: (s: string) => Buffer.from(`sealed:${s}`),
  decryptString: (b: Buffer) => b.toString().replace(/^sealed:/, ''),
  getSelectedStorageBackend: () => 'gnome_libsecret',
}

const fake = { app, BrowserWindow, ipcMain, registered, sessionHandlers, menus, notifications, dialogs, forks }
export type FakeElectron = typeof fake
;(globalThis as { __fakeElectron?: FakeElectron }).__fakeElectron = fake
export default {
  app,
  BrowserWindow,
  ipcMain,
  screen,
  nativeTheme,
  protocol,
  session,
  Menu,
  Notification,
  dialog,
  shell,
  webContents,
  utilityProcess,
  MessageChannelMain,
  safeStorage,
}
