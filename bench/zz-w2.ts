import { offlineRun } from './lib/offline.ts'
const K = Number(process.env.K ?? 10000)
const R = Number(process.env.R ?? 3)
for (let i = 0; i < R; i++) {
  const r = await offlineRun('grapevine', { docs: 1, changed: 1, keysPerDoc: K, timeoutMs: 120_000, witness: process.env.W === '1' })
  console.log(`K=${K} start ${r.startMs.toFixed(0)} converge ${r.convergeMs.toFixed(0)} total ${r.totalMs.toFixed(0)} bytes ${r.bytes} rt ${r.roundTrips}`)
}
process.exit(0)
