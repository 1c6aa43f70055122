/**
 * The application menu: the platform's standard roles (so Cut/Copy/Paste, Undo, Quit, Hide, full
 * screen and window commands behave natively, with their native shortcuts) plus our commands,
 * which main forwards to the focused page as menu notices (the page's own shortcuts are the same).
 */
import type { MenuItemConstructorOptions } from 'electron'
import type { MenuCommand } from '../shared/desktop-bridge.ts'

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
  const command = (label: string, accelerator: string | null, cmd: MenuCommand): MenuItemConstructorOptions => ({
    label,
    ...(accelerator ? { accelerator } : {}),
    click: () => o.send(cmd),
  })
  const appMenu: MenuItemConstructorOptions[] = mac
    ? [
        {
          label: o.appName,
          submenu: [
            { role: 'about' },
            { type: 'separator' },
            { role: 'services' },
            { type: 'separator' },
            { role: 'hide' },
            { role: 'hideOthers' },
            { role: 'unhide' },
            { type: 'separator' },
            { role: 'quit' },
          ],
        },
      ]
    : []
  return [
    ...appMenu,
    {
      label: '&File',
      submenu: [
        command('New Document', 'CmdOrCtrl+N', 'new-document'),
        command('New Task Board', null, 'new-board'),
        command('Invite Teammate…', 'CmdOrCtrl+Shift+I', 'invite'),
        { type: 'separator' },
        command('Import Markdown…', null, 'import'),
        command('Export Workspace…', null, 'export'),
        { type: 'separator' },
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    {
      label: '&Edit',
      submenu: [
        { role: 'undo' },
        { role: 'redo' },
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        ...(mac ? [{ role: 'pasteAndMatchStyle' } as const] : []),
        { role: 'delete' },
        { role: 'selectAll' },
        { type: 'separator' },
        command('Find…', 'CmdOrCtrl+F', 'find'),
        command('Search All Documents…', 'CmdOrCtrl+Shift+F', 'search'),
      ],
    },
    {
      label: '&View',
      submenu: [
        command('Command Palette…', 'CmdOrCtrl+K', 'command-palette'),
        command('My Tasks', null, 'my-tasks'),
        command('Network…', null, 'network'),
        command('Document History', 'CmdOrCtrl+Shift+H', 'history'),
        { type: 'separator' },
        // Developer tools on F12: Ctrl+Shift+I, their usual key off macOS, is Invite Teammate here.
        ...(o.dev
          ? [
              { role: 'reload' } as const,
              { role: 'forceReload' } as const,
              { role: 'toggleDevTools', accelerator: 'F12' } as const,
              { type: 'separator' } as const,
            ]
          : []),
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
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
