/** The page's connection in Electron: ports from the preload, and fresh ones asked for when the page's closes alone. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { APP_ORIGIN, PORT_MESSAGE, PORTS_AGAIN_MESSAGE } from '../../shared/desktop-bridge.ts'
import { type ConnectionState, startConnection } from './connection.ts'

/** A window as the connection sees it in Electron: its 'message' listeners, and what the page posts. */
function electronWindow() {
  const listeners = new Set<(e: MessageEvent) => void>()
  const posted: { data: unknown; origin: string }[] = []
  const win = {
    location: { protocol: 'app:', host: 'grapevine', search: '', origin: APP_ORIGIN },
    addEventListener: (_type: 'message', l: (e: MessageEvent) => void) => void listeners.add(l),
    removeEventListener: (_type: 'message', l: (e: MessageEvent) => void) => void listeners.delete(l),
    postMessage: (data: unknown, origin: string) => void posted.push({ data, origin }),
  }
  /** The preload hands the page a pair of ports (the page's and its editor worker's); returns the peer's ends. */
  const handPorts = (): { page: MessagePort; editor: MessagePort } => {
    const page = new MessageChannel()
    const editor = new MessageChannel()
    const e = { source: win, origin: APP_ORIGIN, data: PORT_MESSAGE, ports: [page.port2, editor.port2] } as unknown as MessageEvent
    for (const l of [...listeners]) l(e)
    return { page: page.port1, editor: editor.port1 }
  }
  return { win: win as unknown as Window, posted, handPorts }
}

test('Electron: a page whose port closes while the peer runs asks the preload for fresh ports, and takes them as a new generation', async () => {
  const { win, posted, handPorts } = electronWindow()
  const states: ConnectionState[] = []
  const stop = startConnection(win, (s) => states.push(s))
  try {
    assert.deepEqual(states, [{ status: 'connecting', kind: 'electron' }])
    const first = handPorts()
    const connected = states.at(-1)
    assert.ok(connected?.status === 'connected' && connected.generation === 1, `connected: ${connected?.status}`)
    assert.deepEqual(posted, [], 'nothing asked while the port is open')

    // The peer ends the page's session alone (the peer process keeps running).
    const lost = new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (states.at(-1)?.status === 'lost') resolve(clearInterval(t))
      }, 5)
    })
    first.page.close()
    await lost
    assert.deepEqual(states.at(-1), { status: 'lost', kind: 'electron', retryInMs: null })
    assert.deepEqual(
      posted,
      [{ data: PORTS_AGAIN_MESSAGE, origin: APP_ORIGIN }],
      'fresh ports asked for, once, from the page to its own origin',
    )

    // The preload's answer: a new pair, a new generation with the new editor port.
    const second = handPorts()
    const now = states.at(-1)
    assert.ok(now?.status === 'connected' && now.generation === 2, `a new generation: ${JSON.stringify(now?.status)}`)
    assert.ok('port' in now.editor, "the editor worker's new port comes with it")
    second.editor.close()
    first.editor.close()
    assert.equal(posted.length, 1, "the editor's port is the worker's to watch (it asks through its window: replica-link.ts)")
  } finally {
    stop()
  }
  assert.equal(posted.length, 1, 'a connection stopped by the page asks for nothing')
})
