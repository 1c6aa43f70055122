/**
 * The app's windows: created with the secure preferences, their size and position remembered,
 * and known by identity, so IPC and notices reach only windows this app made.
 */
import { BrowserWindow, nativeTheme, screen } from 'electron'
import { join } from 'node:path'
import { APP_ENTRY_URL } from './app-url.ts'
import { secureWebPreferences } from './security.ts'
import { loadWindowState, saveWindowState, trackWindowState, MIN_HEIGHT, MIN_WIDTH, WINDOW_STATE_FILE } from './window-state.ts'
import { NOTICE_CHANNEL, PORT_CHANNEL, type BridgeNotice } from '../shared/desktop-bridge.ts'
import type { PortWindow } from './peer-ports.ts'
import type { MessagePortMain } from 'electron'
import type { Logger } from './log.ts'

export interface WindowEvents {
  /** The window's page is being replaced (navigation, reload) or the window is gone. */
  onUnloaded(webContentsId: number): void
}

export class AppWindows {
  private readonly all = new Set<BrowserWindow>()
  private readonly stateFile: string
  private readonly preload: string
  private readonly dev: boolean
  private readonly log: Logger
  private readonly events: WindowEvents

  constructor(o: { userData: string; preload: string; dev: boolean; log: Logger; events: WindowEvents }) {
    this.stateFile = join(o.userData, WINDOW_STATE_FILE)
    this.preload = o.preload
    this.dev = o.dev
    this.log = o.log
    this.events = o.events
  }

  create(): BrowserWindow {
    const { maximized, ...bounds } = loadWindowState(
      this.stateFile,
      screen.getAllDisplays().map((d) => d.workArea),
    )
    const win = new BrowserWindow({
      ...bounds,
      minWidth: MIN_WIDTH,
      minHeight: MIN_HEIGHT,
      show: false,
      title: 'Grapevine',
      // The page's own background, so the window does not flash white before first paint.
      backgroundColor: nativeTheme.shouldUseDarkColors ? '#1b1a1f' : '#ffffff',
      webPreferences: secureWebPreferences(this.preload, this.dev),
    })
    this.all.add(win)
    const id = win.webContents.id
    if (maximized) win.maximize()
    win.once('ready-to-show', () => win.show())
    trackWindowState(
      win,
      (s) => void saveWindowState(this.stateFile, s).catch((err: Error) => this.log.warn(`could not save window state: ${err.message}`)),
    )
    win.webContents.on('did-navigate', () => this.events.onUnloaded(id))
    win.webContents.on('render-process-gone', (_e, details) => {
      this.log.error(`window renderer gone: ${details.reason}`)
      this.events.onUnloaded(id)
    })
    win.on('closed', () => {
      this.all.delete(win)
      this.events.onUnloaded(id)
    })
    win.loadURL(APP_ENTRY_URL).catch((err: Error) => this.log.error(`could not load the app page: ${err.message}`))
    return win
  }

  /** True for windows this app created. */
  isOwn(win: object): boolean {
    return this.all.has(win as BrowserWindow)
  }

  /** Any window of ours has keyboard focus. */
  anyFocused(): boolean {
    return [...this.all].some((w) => !w.isDestroyed() && w.isFocused())
  }

  /** Brings the app forward (second instance, notification click), creating a window if none. */
  reveal(): BrowserWindow {
    const win = [...this.all].find((w) => !w.isDestroyed()) ?? this.create()
    if (win.isMinimized()) win.restore()
    win.show()
    win.focus()
    return win
  }

  count(): number {
    return this.all.size
  }

  /** The broker's view of a window's page. */
  portWindow(contents: Electron.WebContents): PortWindow<MessagePortMain> {
    return {
      id: contents.id,
      isDestroyed: () => contents.isDestroyed(),
      sendPorts: (port, editorPort) => contents.postMessage(PORT_CHANNEL, null, [port, editorPort]),
    }
  }

  static sendNotice(contents: Electron.WebContents, notice: BridgeNotice): void {
    if (!contents.isDestroyed()) contents.send(NOTICE_CHANNEL, notice)
  }

  /** The focused window's contents if it is one of `ids`, else the first of them. */
  pick(ids: readonly number[]): Electron.WebContents | null {
    const focused = BrowserWindow.getFocusedWindow()
    if (focused && this.isOwn(focused) && ids.includes(focused.webContents.id)) return focused.webContents
    for (const w of this.all) if (!w.isDestroyed() && ids.includes(w.webContents.id)) return w.webContents
    return null
  }
}
