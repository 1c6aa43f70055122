/**
 * What a document's sync status costs while a teammate is away (`doc.syncStatus`, which the app asks every
 * few seconds for the open document): three real peers on 127.0.0.1; Cat has the document's first change,
 * or none of it, and stops; Ana types K keystrokes (50 per request) while Ben is connected; then the
 * status is asked three times. Prints each time in ms and what it says of Cat.
 *
 *   node bench/sync-status-probe.ts [K=10000]
 */
import * as A from '@automerge/automerge'
import { join } from 'node:path'
import { formWorkspace, startPeer, tempDir } from '../main/peer/test/helpers.ts'

const K = Number(process.argv[2] ?? 10_000)
for (const catHas of ['none of it', 'its first change'] as const) {
  const dir = tempDir('gv-status-probe-')
  const ana = await startPeer(join(dir.path, 'a'), { name: 'Ana' })
  const ben = await startPeer(join(dir.path, 'b'), { name: 'Ben' })
  const cat = await startPeer(join(dir.path, 'c'), { name: 'Cat' })
  try {
    const ws = await formWorkspace(ana, [ben, cat])
    const c = ana.connect()
    if (catHas === 'none of it') await cat.stop()
    const docId = (await c.request('doc.create', { workspaceId: ws, title: 'Big', text: '' })).id
    const opened = await c.request('doc.open', { docId })
    let doc = A.load<{ text: string }>(opened.bytes, { actor: opened.actor })
    if (catHas === 'its first change') {
      await new Promise((r) => setTimeout(r, 2000))
      await cat.stop()
    }
    for (let i = 0; i < K; i += 50) {
      const changes: Uint8Array[] = []
      for (let k = 0; k < 50; k++) {
        doc = A.change(doc, (d) => A.splice(d, ['text'], d.text.length, 0, 'x'))
        changes.push(A.getLastLocalChange(doc)!)
      }
      await c.request('doc.applyChanges', { docId, changes })
    }
    await ana.settle()
    await new Promise((r) => setTimeout(r, 3000))
    const times: string[] = []
    let lacking = 0
    for (let i = 0; i < 3; i++) {
      const t = performance.now()
      const st = await c.request('doc.syncStatus', { docId })
      times.push((performance.now() - t).toFixed(1))
      lacking = st.receipts.find((r) => r.name === 'Cat')?.lacking ?? -1
    }
    console.log(`${K} keystrokes, Cat has ${catHas}: doc.syncStatus ${times.join(' / ')} ms; Cat lacks ${lacking}`)
    c.close()
  } finally {
    await Promise.allSettled([ana.stop(), ben.stop(), cat.stop()])
    dir.remove()
  }
}
