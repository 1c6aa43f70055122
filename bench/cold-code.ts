/**
 * What this machine charges for code that has not run for a while: one live message's decode and schema
 * check (CBOR, then zod: what a receiving peer does first with a teammate's keystroke, 533 bytes) timed
 * back to back, 1 ms after the last one, 100 ms after it (as typing at 10 keys/s spaces them), and 100 ms
 * after it with this thread spinning meanwhile (so the core was never idle). Medians of 30 each, µs.
 *
 *   node bench/cold-code.ts
 */
import { encode } from 'cborg'
import { decodeGossip, PEER_PROTOCOL_VERSION } from '../main/peer/wire/peer-protocol.ts'
import { MAX_GOSSIP_MESSAGE_BYTES } from '../shared/limits.ts'
import { median, now } from './lib/stats.ts'
import { sleep } from './lib/serve.ts'

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)
// A sealed one-keystroke change as the live path carries it (peer-protocol.ts `gossipMessage`, type `changes`).
const message = encode({
  t: 'changes',
  v: PEER_PROTOCOL_VERSION,
  ws: 'w'.repeat(32),
  doc: 'd'.repeat(32),
  items: [
    {
      a: `12D3KooW${'a'.repeat(44)}`,
      s: bytes(64, 1),
      c: bytes(200, 2),
      m: [bytes(32, 3)],
      e: bytes(16, 4),
      h: bytes(32, 5),
      d: [bytes(32, 6)],
    },
  ],
})
const once = (): number => {
  const t0 = now()
  decodeGossip(message, MAX_GOSSIP_MESSAGE_BYTES, 'live message')
  return (now() - t0) * 1000
}
const spin = (ms: number): void => {
  const until = now() + ms
  while (now() < until) {}
}
for (let i = 0; i < 2000; i++) once()
const rows: [string, number][] = []
const backToBack: number[] = []
for (let i = 0; i < 30; i++) backToBack.push(once())
rows.push(['back to back', median(backToBack)])
for (const [label, wait] of [
  ['1 ms after the last', () => sleep(1)],
  ['100 ms after the last (idle)', () => sleep(100)],
  ['100 ms after the last (this thread spinning)', async () => spin(100)],
] as const) {
  const xs: number[] = []
  for (let i = 0; i < 30; i++) {
    await wait()
    xs.push(once())
  }
  rows.push([label, median(xs)])
}
console.log(`one live message (${message.byteLength} bytes): decode and schema check, µs (median of 30)`)
for (const [label, us] of rows) console.log(`${label.padEnd(46)} ${us.toFixed(1).padStart(7)}`)
process.exit(0)
