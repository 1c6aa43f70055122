/**
 * The first minute of a workspace, with the peer's replies in an order that load can make: the peer
 * announces a new workspace (a `workspace.list` event) before it answers `workspace.create` (it still
 * names the workspace and its owner in sealed ops), so the window shows the workspace, the user makes
 * a document, and only then does the answer to "create" arrive. The new document must stay open: the
 * late answer must not take the view back to the workspace's home.
 *
 * A peer process in browser mode and Chromium; the page's WebSocket goes through Playwright's
 * `routeWebSocket`, which holds the one reply back until the document's reply has passed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decode } from 'cborg'
import type { WebSocketRoute } from 'playwright-core'
import { waitFor } from '../main/peer/test/helpers.ts'
import { browserProblem, onboard, onePeer } from './harness.ts'

const problem = browserProblem()
if (problem && process.env['CI']) throw new Error(`end-to-end tests cannot run: ${problem}`)
if (problem) console.log(`end-to-end tests skipped: ${problem}`)

const ui = onePeer(problem)

type Frame = { id?: number; method?: string }
const frameOf = (message: string | Buffer): Frame => {
  try {
    return typeof message === 'string' ? {} : (decode(message) as Frame)
  } catch {
    return {}
  }
}

/**
 * Passes the page's frames through, except the reply to `workspace.create`: it is held until the reply
 * to `doc.create` has gone to the page (or for at most `holdMs`). Says what it did.
 */
function holdCreateReply(route: WebSocketRoute, holdMs: number): { order: string[] } {
  const order: string[] = []
  const server = route.connectToServer()
  let createId = -1
  let docCreateId = -1
  let held: (string | Buffer)[] = []
  const release = (): void => {
    for (const m of held) route.send(m)
    if (held.length) order.push('workspace.create reply')
    held = []
  }
  route.onMessage((m) => {
    const f = frameOf(m)
    if (f.method === 'workspace.create') createId = f.id ?? -1
    if (f.method === 'doc.create') docCreateId = f.id ?? -1
    server.send(m)
  })
  server.onMessage((m) => {
    const f = frameOf(m)
    if (f.id !== undefined && f.id === createId) {
      held.push(m)
      setTimeout(release, holdMs)
      return
    }
    route.send(m)
    if (f.id !== undefined && f.id === docCreateId) {
      order.push('doc.create reply')
      release()
    }
  })
  return { order }
}

test('a new workspace\'s first document stays open when the answer to "create workspace" comes after it', {
  skip: problem ?? false,
  timeout: 120_000,
}, async () => {
  const context = await ui.browser().newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  page.on('pageerror', (err) => console.log(`page error: ${err.message}`))
  let wire: { order: string[] } | undefined
  // Only the window's socket: Playwright does not route a worker's (the editor's own session is untouched).
  await page.routeWebSocket(/\/rpc/, (route) => {
    wire ??= holdCreateReply(route, 15_000)
  })
  await onboard(page, ui.peer().url, 'Ana')
  await page.getByTestId('workspace-name-input').fill('Studio')
  await page.getByTestId('workspace-name-input').press('Enter')
  // The workspace is shown from the peer's announcement, the answer to "create" still held.
  await page.getByTestId('new-document').click()
  await page.getByTestId('editor').waitFor({ timeout: 20_000 })
  await waitFor('the held reply to reach the page', async () => wire!.order.length === 2, 20_000)
  assert.deepEqual(wire!.order, ['doc.create reply', 'workspace.create reply'], 'the replies reached the page in the order under test')
  // After the late answer, the document is still the one in view, and the URL says so.
  await page.waitForTimeout(500)
  assert.equal(await page.getByTestId('editor').count(), 1, 'the editor is still shown (not the workspace home)')
  assert.match(new URL(page.url()).hash, /^#\/w\/[\w-]+\/d\/[\w-]+$/, 'the route still names the document')
  await page.getByTestId('editor').locator('.cm-content').click()
  await page.keyboard.type('First words', { delay: 10 })
  await waitFor(
    'the text in the editor',
    async () => (await page.getByTestId('editor').locator('.cm-content').innerText()) === 'First words',
    10_000,
  )
  await context.close()
})
