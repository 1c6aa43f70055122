/**
 * Grapevine's main process. Thin on purpose: windows, menu, deep links, notifications and the
 * peer's process. The boot reads top to bottom as its list of setup steps; the policies live in
 * small modules that are unit-tested without Electron.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, Notification, protocol, session, shell, webContents, type WebContents } from 'electron'
import { dirname, join, resolve } from 'node:path'
import type { PeerClient } from '../shared/protocol.ts'
import { HELLO_CHANNEL, type BridgeNotice, type PeerStatus } from '../shared/desktop-bridge.ts'
import { ActivityNotifier } from './activity.ts'
import { APP_SCHEME } from './app-url.ts'
import { serveAppRequest } from './app-protocol.ts'
import { inviteLinkFromAdditionalData, inviteLinkFromArgv, InviteRouter, PROTOCOL_SCHEME } from './deep-link.ts'
import { guardIpc } from './ipc-guard.ts'
import { setupLog, type Logger, type LogLevel } from './log.ts'
import { menuTemplate } from './menu.ts'
import { createPeerHost } from './peer-host.ts'
import type { PeerState } from './peer-process.ts'
import { hardenSession, hardenWebContents } from './security.ts'
import { AppWindows } from './windows.ts'

// out/main/index.js → out/; the build puts preload, peer and renderer beside it.
const OUT_DIR = dirname(import.meta.dirname)
const DEV = !app.isPackaged
/** electron-builder.yml's appId. */
const APP_ID = 'app.grapevine.desktop'

let log: Logger
let peerLog: (level: LogLevel, message: string) => void
let logFile = ''
let windows: AppWindows
let host: ReturnType<typeof createPeerHost>
let invites: InviteRouter
let lastStatus: PeerStatus = 'starting'

function setupPaths(): void {
  app.setName('Grapevine')
  // Windows shows notifications only for the app id its Start-menu shortcut carries (the installer's).
  if (process.platform === 'win32') app.setAppUserModelId(APP_ID)
  // Tests and second profiles run with their own data folder (and so their own instance lock).
  const custom = process.env['GRAPEVINE_USER_DATA']
  app.setPath('userData', custom ? resolve(custom) : join(app.getPath('appData'), 'Grapevine'))
  app.setAppLogsPath()
}

function setupLogging(): void {
  const logging = setupLog(app.getPath('logs'))
  log = logging.log
  peerLog = logging.peerLog
  logFile = logging.file
  log.info(`Grapevine ${app.getVersion()} starting (Electron ${process.versions.electron}, ${process.platform})`)
}

function setupSingleInstance(): boolean {
  // The second instance hands its link over and quits; the first one shows it.
  if (app.requestSingleInstanceLock({ inviteLink: inviteLinkFromArgv(process.argv) })) return true
  app.quit()
  return false
}

function setupSandboxAndScheme(): void {
  app.enableSandbox()
  // standard: a real origin for CSP 'self'; secure: a secure context; supportFetchAPI: the
  // renderer fetches Automerge's .wasm. corsEnabled stays off: it would let other origins read us.
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
  ])
  app.on('web-contents-created', (_e, contents) => hardenWebContents(contents, shell, (m) => log.warn(m)))
  app.on('session-created', (s) => hardenSession(s, (m) => log.warn(m)))
}

function setupDeepLinks(): void {
  invites = new InviteRouter((link) => sendToOne({ grapevine: 'open-invite', value: link }))
  // macOS delivers links as an event, possibly before 'ready'.
  app.on('open-url', (event, url) => {
    event.preventDefault()
    if (!invites.offer(url)) log.warn('ignored a grapevine:// link that is not an invite')
    if (windows) windows.reveal()
  })
  // Windows and Linux start a second instance with the link in its argv.
  app.on('second-instance', (_e, argv, _cwd, data) => {
    const link = inviteLinkFromAdditionalData(data) ?? inviteLinkFromArgv(argv)
    if (link) invites.offer(link)
    windows.reveal()
  })
  const coldStart = inviteLinkFromArgv(process.argv)
  if (coldStart) invites.offer(coldStart)
  // In development the OS would start bare Electron for a link, so only packaged builds claim it.
  if (app.isPackaged) app.setAsDefaultProtocolClient(PROTOCOL_SCHEME)
}

function setupAppProtocol(): void {
  const root = join(OUT_DIR, 'renderer')
  protocol.handle(APP_SCHEME, (request) => serveAppRequest(request, root))
  hardenSession(session.defaultSession, (m) => log.warn(m))
}

function setupWindows(): void {
  windows = new AppWindows({
    userData: app.getPath('userData'),
    preload: join(OUT_DIR, 'preload', 'index.cjs'),
    dev: DEV,
    log,
    events: { onUnloaded: (id) => host.broker.forget(id) },
  })
}

function setupIpc(): void {
  const check = {
    windowOf: (sender: object) => BrowserWindow.fromWebContents(sender as WebContents),
    isOwnWindow: (win: object) => windows.isOwn(win),
  }
  // The only message a page can send: "loaded, give me a port".
  ipcMain.on(
    HELLO_CHANNEL,
    guardIpc(
      HELLO_CHANNEL,
      check,
      (m) => log.warn(m),
      (event: Electron.IpcMainEvent) => {
        AppWindows.sendNotice(event.sender, { grapevine: 'peer-status', value: lastStatus })
        host.broker.hello(windows.portWindow(event.sender))
        invites.flush()
      },
    ),
  )
}

function setupMenu(): void {
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      menuTemplate({
        platform: process.platform,
        appName: app.name,
        dev: DEV,
        send: (command) => sendToOne({ grapevine: 'menu', value: command }),
        showLogs: () => shell.showItemInFolder(logFile),
      }),
    ),
  )
}

function setupPeer(): void {
  const notifier = new ActivityNotifier({
    isAppFocused: () => windows.anyFocused(),
    notify: showNotification,
    setBadge: (n) => app.setBadgeCount(n),
    log: (m) => log.warn(m),
  })
  let current: (PeerClient & { close(): void }) | null = null
  let detach = (): void => {}
  host = createPeerHost({
    entry: join(OUT_DIR, 'peer', 'utility.js'),
    userData: app.getPath('userData'),
    log,
    peerLog,
    onState: onPeerState,
    onClient: (client) => {
      detach()
      current?.close()
      current = client
      detach = notifier.attach(client)
    },
  })
  host.supervisor.start()
}

function onPeerState(state: PeerState, detail?: string): void {
  if (detail) log[state === 'failed' ? 'error' : 'warn'](detail)
  if (state === 'stopping' || state === 'stopped' || state === 'idle') return
  lastStatus = state
  for (const w of host.broker.loadedWindows()) {
    const contents = webContents.fromId(w.id)
    if (contents) AppWindows.sendNotice(contents, { grapevine: 'peer-status', value: state })
  }
  if (state === 'failed') {
    void dialog
      .showMessageBox({
        type: 'error',
        title: 'Grapevine',
        message: 'Grapevine cannot sync right now.',
        detail: `${detail ?? 'The peer stopped.'}\n\nYour documents are safe on this device.`,
        buttons: ['Try Again', 'Show Log', 'Close'],
      })
      .then(({ response }) => {
        if (response === 0) host.supervisor.start()
        if (response === 1) shell.showItemInFolder(logFile)
      })
  }
}

function showNotification(n: { title: string; body: string; docId: string }): void {
  if (!Notification.isSupported()) return
  const note = new Notification({ title: n.title, body: n.body })
  note.on('click', () => {
    windows.reveal()
    sendToOne({ grapevine: 'open-document', value: n.docId })
  })
  note.show()
}

function setupLifecycle(): void {
  app.on('window-all-closed', () => {
    // macOS apps stay in the dock with their peer syncing; elsewhere closing the window quits.
    if (process.platform !== 'darwin') app.quit()
  })
  app.on('activate', () => {
    if (windows.count() === 0) windows.create()
  })
  app.on('before-quit', (event) => {
    const s = host.supervisor.state
    if (s === 'stopped' || s === 'failed' || s === 'idle') return
    // Let the peer finish its last commit and close the database before the app exits.
    event.preventDefault()
    void host.supervisor.stop().finally(() => app.quit())
  })
}

/** Sends a notice to the focused loaded window (or any loaded one); false if none is loaded. */
function sendToOne(notice: BridgeNotice): boolean {
  // A cold-start link arrives before any window or peer exists: the router keeps it.
  if (!windows || !host) return false
  const contents = windows.pick(host.broker.loadedWindows().map((w) => w.id))
  if (!contents) return false
  AppWindows.sendNotice(contents, notice)
  return true
}

async function main(): Promise<void> {
  setupPaths()
  setupLogging()
  if (!setupSingleInstance()) return
  setupSandboxAndScheme()
  setupDeepLinks()
  await app.whenReady()
  setupAppProtocol()
  setupWindows()
  setupIpc()
  setupMenu()
  setupPeer()
  windows.create()
  setupLifecycle()
}

main().catch((err: unknown) => {
  log?.error(`startup failed: ${(err as Error).stack ?? String(err)}`)
  dialog.showErrorBox('Grapevine could not start', String((err as Error).message ?? err))
  app.exit(1)
})
