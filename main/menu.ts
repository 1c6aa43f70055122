/**
 * The application menu: the platform's standard roles (so Cut/Copy/Paste, Undo, Quit, Hide, full
 * screen and window commands behave natively, with their native shortcuts) plus our two commands,
 * which main forwards to the focused page as menu notices.
 */
import type { MenuItemConstructorOptions } from 'electron'
import type { MenuCommand } from '../preload/bridge.ts'

export interface MenuOptions {
  platform: NodeJS.Platform
  appName: string
  /** Development build: reload and developer tools. */
  dev: boolean
  send(command: MenuCommand): void
  showLogs(): void
}

/** The menu as Electron's `Menu.buildFromTemplate` input. */
export function menuTemplate(o: MenuOptions): MenuItemConstructorOptions[] {
  const mac = o.platform === 'darwin'
  const command = (label: string, accelerator: string, cmd: MenuCommand): MenuItemConstructorOptions =>
    ({ label, accelerator, click: () => o.send(cmd) })
  const appMenu: MenuItemConstructorOptions[] = mac ? [{
    label: o.appName,
    submenu: [
      { role: 'about' }, { type: 'separator' }, { role: 'services' }, { type: 'separator' },
      { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, { type: 'separator' }, { role: 'quit' },
    ],
  }] : []
  return [
    ...appMenu,
    {
      label: '&File',
      submenu: [
        command('New Document', 'CmdOrCtrl+N', 'new-document'),
        { type: 'separator' },
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    {
      label: '&Edit',
      submenu: [
        { role: 'undo' }, { role: 'redo' }, { type: 'separator' },
        { role: 'cut' }, { role: 'copy' }, { role: 'paste' },
        ...(mac ? [{ role: 'pasteAndMatchStyle' } as const] : []),
        { role: 'delete' }, { role: 'selectAll' },
      ],
    },
    {
      label: '&View',
      submenu: [
        command('Command Palette…', 'CmdOrCtrl+K', 'command-palette'),
        { type: 'separator' },
        ...(o.dev ? [{ role: 'reload' } as const, { role: 'forceReload' } as const, { role: 'toggleDevTools' } as const, { type: 'separator' } as const] : []),
        { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'Show Log File', click: () => o.showLogs() }],
    },
  ]
}
