/**
 * W1's floors, each in fresh processes: a loopback TCP round trip between two processes; bare Automerge in one
 * process (a change made and applied to a second copy); one libp2p hop between two processes, through gossipsub
 * and on a stream of its own; and the live path's hops with no application code at the typing rate (an
 * editor's Unix socket to its peer, a libp2p stream to the other peer, its Unix socket to that peer's editor).
 */
import type { Report } from './report.ts'
import { spawnWorker, stopAll, type Worker } from './workers.ts'
import { sleep } from './serve.ts'

export interface W1Floors {
  /** Round trips, ms. */
  rtt: number[]
  /** Bare Automerge, change + apply, ms each. */
  bare: number[]
  /** One libp2p hop, send to arrival, ms each. */
  hops: Map<'signed' | 'stream', number[]>
  /** The live path's hops, send to arrival, ms each. */
  path: number[]
}

/** Send to arrival of each floor message that arrived (by its index); the run fails a check if any did not. */
function delays(report: Report, floor: string, sent: number[], arrived: (number | null)[]): number[] {
  const out = sent.flatMap((t, i) => {
    const a = arrived[i]
    return typeof a === 'number' ? [a - t] : []
  })
  report.check(out.length === sent.length, `W1 floor (${floor}): ${out.length} of ${sent.length} messages arrived`)
  return out
}

/** `pings` messages for each hop floor; `keys` keystrokes for bare Automerge. */
export async function measureW1Floors(report: Report, pings: number, keys: number): Promise<W1Floors> {
  // Floors: a loopback TCP round trip between two processes, and bare Automerge in one process.
  const floors = [await spawnWorker('floors.ts', 'tcp-server'), await spawnWorker('floors.ts', 'tcp-client')]
  let rtt: number[] = []
  let bare: number[] = []
  try {
    const port = await floors[0]!.call<number>('listen')
    rtt = await floors[1]!.call<number[]>('ping', { port, count: pings, intervalMs: 10 })
    bare = await floors[1]!.call<number[]>('automerge', { keys })
  } finally {
    await stopAll(floors)
  }
  // One hop of libp2p between two processes: through gossipsub (signed, as Grapevine's gossip is), and
  // on a stream of its own (as Grapevine's live path is). Each in fresh processes.
  const hops = new Map<'signed' | 'stream', number[]>()
  for (const mode of ['signed', 'stream'] as const) {
    const pair = [await spawnWorker('floors.ts', `${mode}-receiver`), await spawnWorker('floors.ts', `${mode}-sender`)]
    const hop: number[] = []
    try {
      const addr = await pair[0]!.call<string>('gossipListen', { mode })
      await pair[1]!.call('gossipDial', { addr, mode }, 20_000)
      // The size of one keystroke's gossip message (bench/probe.ts prints it: 533 bytes).
      const sent = await pair[1]!.call<number[]>('gossipSend', { count: pings, intervalMs: 20, bytes: 533 }, 60_000)
      await sleep(200)
      hop.push(...delays(report, mode, sent, await pair[0]!.call<(number | null)[]>('gossipArrivals')))
    } finally {
      await stopAll(pair)
    }
    hops.set(mode, hop)
  }
  // The hops of the live path with no application code, at the typing rate: editor → peer (Unix socket) →
  // peer (libp2p stream) → editor (Unix socket), four processes.
  const path: number[] = []
  {
    const [peerB, peerA, editorB, editorA] = [
      await spawnWorker('floors.ts', 'path-peer-b'),
      await spawnWorker('floors.ts', 'path-peer-a'),
      await spawnWorker('floors.ts', 'path-editor-b'),
      await spawnWorker('floors.ts', 'path-editor-a'),
    ] as [Worker, Worker, Worker, Worker]
    try {
      const addr = await peerB.call<string>('gossipListen', { mode: 'path' })
      await editorB.call('socketConnect', { path: await peerB.call<string>('socketListen') })
      await peerA.call('gossipDial', { addr, mode: 'path' }, 20_000)
      await editorA.call('socketConnect', { path: await peerA.call<string>('socketListen') })
      const sent = await editorA.call<number[]>('socketSend', { count: pings, intervalMs: 100, bytes: 533 }, 120_000)
      await sleep(200)
      path.push(...delays(report, 'path', sent, await editorB.call<(number | null)[]>('gossipArrivals')))
    } finally {
      await stopAll([editorA, editorB, peerA, peerB])
    }
  }

  return { rtt, bare, hops, path }
}
