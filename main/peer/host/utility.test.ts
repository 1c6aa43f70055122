/**
 * The desktop host entry driven the way Electron's main process drives it, with Node's own
 * MessageChannel standing in for Electron's MessagePortMain (same messages, same frames).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { createRpcClient } from '../../../shared/rpc.ts'
import { tempDir, waitFor } from '../test/helpers.ts'
import { runHost, type ToMain } from './utility.ts'

/** Node's MessagePort shaped like Electron's MessagePortMain (`{ data }` events). */
const asPortMain = (p: MessagePort) => ({
  on: (event: 'message' | 'close', l: (e: { data: unknown }) => void) =>
    void p.on(event, (data: unknown) => (event === 'message' ? l({ data }) : (l as () => void)())),
  postMessage: (m: unknown) => p.postMessage(m),
  start: () => p.start(),
  close: () => p.close(),
})

test('main starts the peer, seals its new key, connects a window port, and stops it', async () => {
  const dir = tempDir()
  const toMain: ToMain[] = []
  let toHost: ((e: { data: unknown; ports: ReturnType<typeof asPortMain>[] }) => void) | null = null
  let exited: number | null = null
  runHost({
    on: (_e, l) => void (toHost = l),
    postMessage: (m) => {
      toMain.push(m as ToMain)
      // Main keeps the new key (sealed) and says so.
      if ((m as ToMain).type === 'device-key') setImmediate(() => toHost!({ data: { type: 'device-key-saved' }, ports: [] }))
    },
  }, (code) => void (exited = code))
  try {
    toHost!({ data: { type: 'hello?' }, ports: [] })
    assert.ok(toMain.some((m) => m.type === 'log' && m.message.includes('malformed')))
    toHost!({ data: { type: 'start', config: { profileDir: dir.path, name: 'Desk', host: '127.0.0.1', mdns: false } }, ports: [] })
    // A window's port may arrive before the peer is ready: it is served once it is.
    const { port1, port2 } = new MessageChannel()
    toHost!({ data: { type: 'connect' }, ports: [asPortMain(port1)] })
    const ready = await waitFor('ready', () => toMain.find((m) => m.type === 'ready'))
    const sealed = toMain.find((m) => m.type === 'device-key')
    assert.ok(sealed && sealed.type === 'device-key' && sealed.key.byteLength > 0, 'the new key went to main to be sealed')
    port2.start()
    const client = createRpcClient({
      send: (f) => port2.postMessage(f),
      onFrame: (l) => void port2.on('message', (d: Uint8Array) => l(d)),
      onClose: (l) => void port2.on('close', l),
      close: () => port2.close(),
    })
    const me = await client.request('identity.get', {})
    assert.equal(ready.type === 'ready' && ready.deviceId, me.deviceId)
    assert.equal(me.name, 'Desk')
    client.close()
    toHost!({ data: { type: 'stop' }, ports: [] })
    await waitFor('the host to exit', () => exited !== null)
    assert.equal(exited, 0)
  } finally {
    dir.remove()
  }
})
