/**
 * The preload: hands the page its MessagePorts to the peer (its own and its editor worker's), and main's notices, with
 * `window.postMessage` to the page's own origin; asks main for fresh ports when the page says one closed.
 * It exposes no API beyond the frozen platform name (for shortcut labels); the page's only power is the
 * client protocol, which the peer validates.
 * Bundled into one CommonJS file: a sandboxed preload can require nothing but 'electron'.
 */
import { contextBridge, ipcRenderer } from 'electron'
import {
  APP_ORIGIN,
  HELLO_CHANNEL,
  NOTICE_CHANNEL,
  PORT_CHANNEL,
  PORT_MESSAGE,
  PORTS_AGAIN_MESSAGE,
  toNotice,
  type BridgeNotice,
} from '../shared/desktop-bridge.ts'

const MAX_QUEUED_NOTICES = 32
const ours = window.location.origin === APP_ORIGIN

// Messages posted before the page's boot script has attached its listener would be lost, so hold
// them until 'load' (Electron's documented pattern). Only the newest ports are worth keeping: older
// ones belong to a peer process that has since been replaced.
let loaded = false
let heldPorts: MessagePort[] | null = null
const heldNotices: BridgeNotice[] = []

/** The page's port and its editor worker's, in that order (renderer/src/transport.ts). */
function postPorts(ports: MessagePort[]): void {
  window.postMessage(PORT_MESSAGE, APP_ORIGIN, ports)
}

function postNotice(notice: BridgeNotice): void {
  window.postMessage(notice, APP_ORIGIN)
}

if (ours) {
  ipcRenderer.on(PORT_CHANNEL, (event) => {
    const [port, editorPort] = event.ports
    if (!port || !editorPort) return
    if (loaded) return postPorts([port, editorPort])
    for (const p of heldPorts ?? []) p.close()
    heldPorts = [port, editorPort]
  })

  ipcRenderer.on(NOTICE_CHANNEL, (_event, raw: unknown) => {
    const notice = toNotice(raw)
    if (!notice) return
    if (loaded) return postNotice(notice)
    if (heldNotices.length < MAX_QUEUED_NOTICES) heldNotices.push(notice)
  })

  window.addEventListener(
    'load',
    () => {
      loaded = true
      if (heldPorts) postPorts(heldPorts)
      heldPorts = null
      for (const notice of heldNotices.splice(0)) postNotice(notice)
      // Now main may hand this page a port (main checks that we are one of its windows).
      ipcRenderer.send(HELLO_CHANNEL)
    },
    { once: true },
  )

  // The page's port or its editor worker's closed while the peer runs: fresh ones, through the same hello
  // (main answers at most once per REHELLO_MS). Only from the page itself, once it has loaded.
  window.addEventListener('message', (e) => {
    if (loaded && e.source === window && e.origin === APP_ORIGIN && e.data === PORTS_AGAIN_MESSAGE) ipcRenderer.send(HELLO_CHANNEL)
  })

  contextBridge.exposeInMainWorld('grapevine', Object.freeze({ platform: process.platform }))
}
