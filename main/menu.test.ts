/** The menu keeps the platform's standard roles and adds our two shortcuts. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { MenuItemConstructorOptions } from 'electron'
import { menuTemplate } from './menu.ts'
import { toNotice } from '../shared/desktop-bridge.ts'
import { APP_ORIGIN as BRIDGE_ORIGIN } from '../shared/desktop-bridge.ts'
import { APP_ORIGIN } from './app-url.ts'

const flatten = (items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] =>
  items.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? flatten(i.submenu) : [])])

function build(platform: NodeJS.Platform, dev = false) {
  const sent: string[] = []
  const items = flatten(menuTemplate({ platform, appName: 'Grapevine', dev, send: (c) => sent.push(c), showLogs: () => sent.push('logs') }))
  return { items, sent, roles: new Set(items.map((i) => i.role).filter(Boolean)) }
}

test('our shortcuts send their commands to the page, the same keys the page binds', () => {
  const { items, sent } = build('linux', true)
  const byKey = (k: string) => items.find((i) => i.accelerator === k)
  for (const key of ['CmdOrCtrl+N', 'CmdOrCtrl+K', 'CmdOrCtrl+Shift+I', 'CmdOrCtrl+F', 'CmdOrCtrl+Shift+F', 'CmdOrCtrl+Shift+H'])
    (byKey(key)!.click as () => void)()
  for (const label of ['Network…', 'Import Markdown…', 'Export Workspace…', 'New Task Board', 'My Tasks'])
    (items.find((i) => i.label === label)!.click as () => void)()
  assert.deepEqual(sent, [
    'new-document',
    'command-palette',
    'invite',
    'find',
    'search',
    'history',
    'network',
    'import',
    'export',
    'new-board',
    'my-tasks',
  ])
  const accelerators = items.map((i) => i.accelerator).filter(Boolean)
  assert.equal(new Set(accelerators).size, accelerators.length, 'no key bound twice (developer tools moved to F12)')
})

test('standard roles on every platform, the app menu on macOS, developer items only in development', () => {
  for (const platform of ['darwin', 'win32', 'linux'] as const) {
    const { roles } = build(platform)
    for (const role of ['undo', 'redo', 'cut', 'copy', 'paste', 'selectAll', 'togglefullscreen', 'windowMenu', 'zoomIn', 'resetZoom']) {
      assert.ok(roles.has(role as never), `${platform}: ${role}`)
    }
    assert.equal(roles.has('toggleDevTools'), false)
    assert.equal(roles.has('about'), platform === 'darwin')
    assert.ok(roles.has('quit'))
  }
  assert.ok(build('linux', true).roles.has('toggleDevTools'))
})

test('the bridge passes only well-formed notices', () => {
  assert.deepEqual(toNotice({ grapevine: 'menu', value: 'new-document', extra: 1 }), { grapevine: 'menu', value: 'new-document' })
  assert.deepEqual(toNotice({ grapevine: 'open-invite', value: 'grapevine://join/GV1.x' }), {
    grapevine: 'open-invite',
    value: 'grapevine://join/GV1.x',
  })
  assert.deepEqual(toNotice({ grapevine: 'peer-status', value: 'restarting' }), { grapevine: 'peer-status', value: 'restarting' })
  for (const bad of [
    null,
    'menu',
    { grapevine: 'menu', value: 'rm -rf' },
    { grapevine: 'open-invite', value: 'https://evil' },
    { grapevine: 'peer-status', value: 'pwned' },
    { grapevine: 'open-document', value: '../x' },
    { grapevine: 'eval', value: 'x' },
    { grapevine: 'open-invite', value: `grapevine://join/${'a'.repeat(5000)}` },
  ]) {
    assert.equal(toNotice(bad), null, JSON.stringify(bad).slice(0, 80))
  }
  assert.equal(BRIDGE_ORIGIN, APP_ORIGIN, 'the preload and main agree on the pages origin')
})
