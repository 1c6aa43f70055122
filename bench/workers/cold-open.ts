/**
 * W3 worker. `build*` makes a profile (1,000 small documents plus the editing-trace document, typed
 * in frames as in W4) and stops; `open*` runs in a fresh process and measures a cold start: time to
 * list the documents, time until the trace document's text is available, and the process's peak
 * resident memory (VmHWM from /proc, the kernel's high-water mark).
 */
import { readFileSync } from 'node:fs'
import * as A from '@automerge/automerge'
import { Repo, type DocHandle } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { createPeer } from '../../main/peer/peer.ts'
import { GvReplica } from '../lib/gv-replica.ts'
import { amTextPeer, type AmDoc } from '../lib/am-text.ts'
import { textPeerHandlers } from '../lib/text-peer.ts'
import { serve } from '../lib/serve.ts'
import { now } from '../lib/stats.ts'

// The bench's TypeScript settings have no DOM library, where WebAssembly's types live; Node has it at run time.
declare const WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { grow(pages: number): number; buffer: ArrayBuffer } }

const body = (i: number): string => `# Note ${i}\n\nA short document of a few lines, as most documents in a team's workspace are.\n`

/** Peak resident set size of this process so far, in bytes. */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss
}

const gvConfig = (profileDir: string) => ({ profileDir, name: 'w3', host: '127.0.0.1', port: 0, mdns: false })

serve({
  async buildGrapevine({ profileDir, docs, traceKeys, frameMs }: { profileDir: string; docs: number; traceKeys: number; frameMs: number }) {
    const peer = await createPeer(gvConfig(profileDir))
    const c = peer.connect()
    const ws = await c.request('workspace.create', { name: 'W3' })
    let made = 0
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (made < docs) {
          const i = made++
          await c.request('doc.create', { workspaceId: ws.id, title: `Note ${i}`, text: body(i) })
        }
      }),
    )
    const traceDoc = (await c.request('doc.create', { workspaceId: ws.id, title: 'The paper', text: '' })).id
    const r = await GvReplica.open(c, traceDoc, 0)
    const typed = (await textPeerHandlers(() => r)['replay']!({ limit: traceKeys, frameMs })) as { keys: number }
    const length = r.length()
    r.close()
    c.close()
    await peer.stop()
    return { workspaceId: ws.id, traceDoc, keys: typed.keys, length }
  },
  async openGrapevine({ profileDir, workspaceId, traceDoc }: { profileDir: string; workspaceId: string; traceDoc: string }) {
    const t0 = now()
    // As the desktop app's peer starts (host/utility.ts): ready once the profile is open, the network starting meanwhile.
    const peer = await createPeer({ ...gvConfig(profileDir), awaitNetwork: false })
    const c = peer.connect()
    const t1 = now()
    const list = await c.request('doc.list', { workspaceId })
    const t2 = now()
    const read = await c.request('doc.read', { docId: traceDoc })
    const t3 = now()
    const peak = peakRss()
    // What the editor then does: open the document and load its own replica (in the app, in the renderer's process).
    const opened = await c.request('doc.open', { docId: traceDoc })
    const f0 = process.resourceUsage().minorPageFault
    const l0 = now()
    // As the editor loads it (renderer/src/editor/replica.ts): bytes from its own peer, unchecked.
    const doc = A.load<{ text: string }>(opened.bytes, { unchecked: true })
    const t4 = now()
    const loadFaults = process.resourceUsage().minorPageFault - f0
    if (doc.text !== read.text) throw new Error('the replica and the peer disagree on the text')
    // Not timed above: the same load again in this process, the memory the first one freed mapped already.
    const a0 = now()
    A.free(A.load(opened.bytes, { unchecked: true }))
    const againMs = now() - a0
    c.close()
    await peer.stop()
    return {
      startMs: t1 - t0,
      listMs: t2 - t0,
      textMs: t3 - t0,
      editorMs: t4 - t0,
      loadMs: t4 - l0,
      loadFaults,
      againMs,
      openBytes: opened.bytes.byteLength,
      listed: list.length,
      length: read.text.length,
      peak,
    }
  },
  /**
   * automerge-repo has no listing of its own: apps keep an index document of URLs and titles (the
   * usual pattern), so listing = loading the index.
   */
  async buildAutomergeRepo({ dir, docs, traceKeys, frameMs }: { dir: string; docs: number; traceKeys: number; frameMs: number }) {
    const repo = new Repo({ network: [], storage: new NodeFSStorageAdapter(dir) })
    const entries: { url: string; title: string }[] = []
    for (let i = 0; i < docs; i++) {
      const h = repo.create<{ title: string; text: string }>({ title: `Note ${i}`, text: body(i) })
      entries.push({ url: h.url, title: `Note ${i}` })
    }
    const trace: DocHandle<AmDoc> = repo.create<AmDoc>({ text: '' })
    entries.push({ url: trace.url, title: 'The paper' })
    const index = repo.create<{ docs: { url: string; title: string }[] }>({ docs: entries })
    const typed = (await textPeerHandlers(() => amTextPeer(trace))['replay']!({ limit: traceKeys, frameMs })) as { keys: number }
    const length = trace.doc()!.text.length
    await repo.flush()
    // automerge-repo also saves each document on a 100 ms throttle that can fire after flush() and shutdown()
    // returned (Repo.js, #saveFn); a process stopped during such a write left an incomplete document on disk
    // once (a smoke run's W3 open found no text). Let those writes end, then flush again, before this worker
    // is stopped. The build is not timed.
    await new Promise((r) => setTimeout(r, 1000))
    await repo.flush()
    await repo.shutdown()
    return { indexUrl: index.url, traceUrl: trace.url, keys: typed.keys, length }
  },
  async openAutomergeRepo({ dir, indexUrl, traceUrl }: { dir: string; indexUrl: string; traceUrl: string }) {
    const t0 = now()
    const repo = new Repo({ network: [], storage: new NodeFSStorageAdapter(dir) })
    const t1 = now()
    const index = await repo.find<{ docs: unknown[] }>(indexUrl as never)
    const listed = index.doc()!.docs.length
    const t2 = now()
    const trace = await repo.find<AmDoc>(traceUrl as never)
    const length = trace.doc()!.text.length
    const t3 = now()
    const peak = peakRss()
    await repo.shutdown()
    return { startMs: t1 - t0, listMs: t2 - t0, textMs: t3 - t0, editorMs: t3 - t0, listed, length, peak }
  },
  /**
   * What touching fresh memory costs here: 32 MiB of new WebAssembly memory (as Automerge's heap grows),
   * written once per 4 KiB page. Returns the time and the minor page faults it took.
   */
  firstTouch() {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024 })
    const f0 = process.resourceUsage().minorPageFault
    const t0 = now()
    memory.grow(512)
    const bytes = new Uint8Array(memory.buffer)
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = 1
    return { ms: now() - t0, faults: process.resourceUsage().minorPageFault - f0, mib: bytes.length / 2 ** 20 }
  },
  /** The peak memory of a worker that only loaded its modules: the baseline under the numbers above. */
  baseline() {
    return peakRss()
  },
})
