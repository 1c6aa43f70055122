/**
 * One collaborator goes offline while another changes documents, then comes back: how long until
 * it holds the same documents, and what crossed the network. Shared by W2 (catch-up after many
 * keystrokes) and W5 (many documents, few changed). Two collaborators per system:
 *  - Grapevine: peers A and B in one workspace; B stops (profile kept) and starts again; catch-up
 *    traffic from every peer's `stats().catchup` (with `witness`, a third peer C online throughout).
 *  - automerge-repo: clients A and B of one sync server; B's Repo shuts down (NodeFS kept) and a new
 *    one opens on the same storage; traffic counted on B's WebSocket.
 *  - Yjs: clients A and B of y-websocket, one room per document; B keeps each document's state
 *    (as y-indexeddb would) and reconnects with it; traffic counted on B's WebSockets.
 */
import { tempDir, grapevinePeers, spawnAll, type SystemId } from './systems.ts'
import { spawnWorker, stopAll, type Worker } from './workers.ts'
import { sleep, until } from './serve.ts'
import { COVER_MIN } from '../../main/peer/sync/own-covers.ts'

export interface Scenario {
  docs: number
  /** Documents A changes while B is away (the first ones). */
  changed: number
  keysPerDoc: number
  /** Keystrokes typed into the changed documents while both are online, before B leaves (shared history). */
  sharedKeys?: number
  /** Afterwards B leaves and comes back once more with nothing changed: what equal documents cost. */
  thenEqual?: boolean
  /** Grapevine: B starts the catch-up session itself as soon as it is connected (otherwise the lower peer id does). */
  bInitiates?: boolean
  /**
   * Grapevine: a third member C stays online while A types, each keystroke sent and acknowledged before the
   * next (a person's pace), so they leave one by one as when typed together (not as runs), and B comes back
   * to A and C both.
   */
  witness?: boolean
  timeoutMs: number
}
export interface OfflineResult {
  /** Restart of the collaborator (peer start, storage load) until it is ready to sync. */
  startMs: number
  /** From ready until every document equals the other side's. */
  convergeMs: number
  totalMs: number
  bytes: number
  messages: number
  roundTrips: number
  sessions?: number
  setupS: number
  /** The second return, with every document already equal (when `thenEqual`). */
  equal?: Omit<OfflineResult, 'equal' | 'setupS'>
}

type Heads = Record<string, string>
const same = (a: Heads, b: Heads, ids: string[]): boolean => ids.every((id) => a[id] !== undefined && a[id] === b[id])

async function grapevine(sc: Scenario, t0: number): Promise<OfflineResult> {
  const g = await grapevinePeers(sc.witness ? 3 : 2, { doc: false })
  const [a, b, c] = g.workers as [Worker, Worker, Worker | undefined]
  try {
    const ids = await a.call<string[]>('createDocs', { workspaceId: g.ids.workspaceId, count: sc.docs, inFlight: 32 }, sc.timeoutMs)
    const aHeads = async (): Promise<Heads> => ({
      ...(await a.call<Heads>('heads')),
      ...(await a.call<Heads>('loadedHeads', { ids: ids.slice(0, sc.changed) }, sc.timeoutMs)),
    })
    await until(
      'B holds every document',
      async () => same(await b.call<Heads>('heads'), await a.call<Heads>('heads'), ids),
      sc.timeoutMs,
      200,
    )
    if (sc.sharedKeys) {
      await a.call('typeKeys', { ids: ids.slice(0, sc.changed), keysPerDoc: sc.sharedKeys }, sc.timeoutMs)
      const h = await aHeads()
      await until('B holds the shared history', async () => same(await b.call<Heads>('heads'), h, ids), sc.timeoutMs, 200)
    }
    await b.call('goOffline')
    // With a witness, typed at a person's pace: each keystroke leaves alone (a burst would leave as runs).
    const typing = { ids: ids.slice(0, sc.changed), keysPerDoc: sc.keysPerDoc, from: sc.sharedKeys ?? 0, oneByOne: sc.witness === true }
    await a.call('typeKeys', typing, sc.timeoutMs)
    // A's listing rows reach its database a moment after the acknowledgement: take the changed documents' heads from A itself.
    const all = await aHeads()
    const expected = Object.fromEntries(ids.map((id) => [id, all[id]!]))
    if (c) {
      await until('C holds what A typed', async () => same(await c.call<Heads>('heads'), expected, ids), sc.timeoutMs, 200)
      // B is back later, as a teammate away for a while is: A has put the keys it typed under covers once its
      // typing paused (sync/own-covers.ts, 5 s), and C has taken them in place of the envelopes.
      const typed = sc.keysPerDoc * sc.changed
      if (typed >= COVER_MIN)
        await until(
          'A covered what it typed',
          async () => (await a.call<{ covers: { changes: number } }>('stats')).covers.changes >= typed,
          sc.timeoutMs + 10_000,
          200,
        )
      await sleep(500)
    }
    const setupS = (performance.now() - t0) / 1000
    const served = async (): Promise<Record<string, number>[]> =>
      (await Promise.all([a, ...(c ? [c] : [])].map((w) => w.call<{ catchup: Record<string, number> }>('stats')))).map((x) => x.catchup)
    const back = async (): Promise<Omit<OfflineResult, 'setupS'>> => {
      const before = await served()
      const r = await b.call<{ startMs: number; convergeMs: number; totalMs: number; stats: { catchup: Record<string, number> } }>(
        'comeBack',
        { expected, timeoutMs: sc.timeoutMs, initiate: sc.bInitiates ?? false },
        sc.timeoutMs + 30_000,
      )
      await sleep(1500) // let both sides' sessions finish (the second side starts 1.5 s after connecting)
      const after = await served()
      const bs = (await b.call<{ catchup: Record<string, number> }>('stats')).catchup
      const d = (k: string): number => after.reduce((sum, x, i) => sum + (x[k] ?? 0) - (before[i]![k] ?? 0), bs[k] ?? 0)
      const sessions = d('sessions')
      return {
        startMs: r.startMs,
        convergeMs: r.convergeMs,
        totalMs: r.totalMs,
        bytes: d('bytesSent'),
        messages: d('framesSent'),
        // Times the dialling side waited for an answer (summary → answer, reconciliation, changes → changes).
        roundTrips: d('roundTrips'),
        sessions,
      }
    }
    const first = await back()
    if (!sc.thenEqual) return { ...first, setupS }
    await b.call('goOffline')
    return { ...first, setupS, equal: await back() }
  } finally {
    await stopAll(g.workers)
  }
}

async function anchor(sys: 'am-ws' | 'yjs', sc: Scenario, t0: number): Promise<OfflineResult> {
  const workers: Worker[] = []
  try {
    const server = await spawnWorker(sys === 'am-ws' ? 'am-server.ts' : 'y-server.ts', `${sys}-server`)
    workers.push(server)
    const port = await server.call<number>('start', sys === 'am-ws' ? { storageDir: tempDir('am-server') } : {})
    const [a, b] = await spawnAll(2, (i) => spawnWorker(sys === 'am-ws' ? 'am-client.ts' : 'y-client.ts', `${sys}-${'ab'[i]}`))
    workers.push(a!, b!)
    const url = `ws://127.0.0.1:${port}`
    await Promise.all([a!, b!].map((w, i) => w.call('start', sys === 'am-ws' ? { url, storageDir: tempDir(`am${i}`) } : { url })))
    let ids: string[]
    if (sys === 'am-ws') {
      ids = await a!.call<string[]>('createDocs', { count: sc.docs })
      await sleep(300)
      await b!.call('findDocs', { urls: ids }, sc.timeoutMs)
    } else {
      ids = Array.from({ length: sc.docs }, (_, i) => `doc-${i}`)
      await a!.call('openRooms', { names: ids }, sc.timeoutMs)
      await b!.call('openRooms', { names: ids }, sc.timeoutMs)
    }
    const key = sys === 'am-ws' ? { urls: ids } : { names: ids }
    await until(
      'B holds every document',
      async () => same(await b!.call<Heads>('heads', key), await a!.call<Heads>('heads', key), ids),
      sc.timeoutMs,
      200,
    )
    const changed = ids.slice(0, sc.changed)
    const changedKey = sys === 'am-ws' ? { urls: changed } : { names: changed }
    if (sc.sharedKeys) {
      await a!.call('typeKeys', { ...changedKey, keysPerDoc: sc.sharedKeys }, sc.timeoutMs)
      const h = await a!.call<Heads>('heads', key)
      await until('B holds the shared history', async () => same(await b!.call<Heads>('heads', key), h, ids), sc.timeoutMs, 200)
    }
    await b!.call('goOffline', {}, sc.timeoutMs)
    await a!.call('typeKeys', { ...changedKey, keysPerDoc: sc.keysPerDoc, from: sc.sharedKeys ?? 0 }, sc.timeoutMs)
    const expected = await a!.call<Heads>('heads', key)
    await until('the server holds every change', async () => same(await server.call<Heads>('heads', key), expected, ids), sc.timeoutMs, 100)
    const setupS = (performance.now() - t0) / 1000
    const back = async (): Promise<Omit<OfflineResult, 'setupS'>> => {
      const r = await b!.call<{ startMs: number; convergeMs: number; totalMs: number; net: Record<string, number> }>(
        'comeBack',
        { expected, timeoutMs: sc.timeoutMs },
        sc.timeoutMs + 30_000,
      )
      await sleep(300) // traffic that follows convergence (acknowledgements, heads) counts too
      const net = await b!.call<Record<string, number>>('netCount')
      return {
        startMs: r.startMs,
        convergeMs: r.convergeMs,
        totalMs: r.totalMs,
        bytes: net['bytesSent']! + net['bytesRecv']!,
        messages: net['msgsSent']! + net['msgsRecv']!,
        roundTrips: net['roundTrips']!,
      }
    }
    const first = await back()
    if (!sc.thenEqual) return { ...first, setupS }
    await b!.call('goOffline', {}, sc.timeoutMs)
    return { ...first, setupS, equal: await back() }
  } finally {
    await stopAll(workers)
  }
}

export function offlineRun(sys: SystemId, sc: Scenario): Promise<OfflineResult> {
  const t0 = performance.now()
  if (sys === 'grapevine') return grapevine(sc, t0)
  if (sys === 'am-ws' || sys === 'yjs') return anchor(sys, sc, t0)
  throw new Error(`${sys} has no offline scenario`)
}
