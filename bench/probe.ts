/**
 * One keystroke's path through two Grapevine peers, stage by stage: the editor (its own process)
 * types 20 keys at 10 keys/s; for each key it prints, in ms after the keystroke, when the editor
 * sent it, every SQLite group commit (with its duration in 0.1 ms), gossip publish and arrival
 * (with message size), and when the receiving replica held it.
 *
 *   BENCH_PROBE=1 node bench/probe.ts
 */
import { rmSync } from 'node:fs'
import { deploy, tempRoot } from './lib/systems.ts'
import { sleep } from './lib/serve.ts'

if (!process.env['BENCH_PROBE']) {
  console.error('run with BENCH_PROBE=1 (it makes the peer workers record their commits and gossip)')
  process.exit(2)
}
const dep = await deploy('grapevine', 2)
try {
  await dep.writer.call('type', { phases: [{ keys: 10, intervalMs: 50 }] })
  await sleep(1000)
  await Promise.all([dep.writer, ...dep.receivers].map((c) => c.call('watch')))
  const keys = 20
  const times = await dep.writer.call<number[]>('type', { phases: [{ keys, intervalMs: 100 }] })
  await sleep(500)
  const sends = await dep.writer.call<number[]>('sendTimes', { keys })
  const arrivals = await dep.receivers[0]!.call<number[]>('arrivals')
  type Ev = [string, number, number]
  const writerPeer = (await dep.workers[1]!.call<Ev[]>('probe')).filter(([, t]) => t >= times[0]! - 1)
  const receiverPeer = (await dep.workers[0]!.call<Ev[]>('probe')).filter(([, t]) => t >= times[0]! - 1)
  console.log(
    'per keystroke, ms after it was typed: send = editor sent it; commitN = group commit lasting N/10 ms; pubN/inN = gossip of N bytes; ev = doc.changes event',
  )
  for (let k = 0; k < keys; k++) {
    const t = times[k]!
    const next = times[k + 1] ?? Infinity
    const line = (xs: Ev[]): string =>
      xs
        .filter(([, x]) => x >= t && x < next)
        .map(([n, x, b]) => `${n}${b}@${(x - t).toFixed(1)}`)
        .join(' ')
    console.log(
      `key ${k}: send@${(sends[k]! - t).toFixed(1)} visible@${(arrivals[k]! - t).toFixed(1)} | writer's peer: ${line(writerPeer)} | receiver's peer: ${line(receiverPeer)}`,
    )
  }
} finally {
  await dep.stop()
  rmSync(tempRoot(), { recursive: true, force: true })
}
process.exit(0)
