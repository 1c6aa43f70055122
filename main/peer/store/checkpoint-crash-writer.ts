/**
 * Child process for checkpoint.test.ts: commits numbered rows to a store whose WAL is checkpointed every
 * 256 KiB (in the quiet moments the writer leaves now and then, and at 4 MiB without one), several writes
 * in flight, and prints `ACK n` once write n is acknowledged (durable) and `CKPT k` whenever the store has
 * finished k checkpoints. The parent kills it with SIGKILL at a random moment.
 * Usage: node checkpoint-crash-writer.ts <database> <firstRow> <seed>
 */
import { SqliteStore } from './sqlite-store.ts'
import { rowValue } from './checkpoint-rows.ts'
import { seededRandom } from '../test/random.ts'

const [path, first, seed] = process.argv.slice(2)
if (!path || first === undefined || seed === undefined) throw new Error('usage: checkpoint-crash-writer.ts <database> <firstRow> <seed>')

const store = new SqliteStore(path, { checkpointWalBytes: 256 * 1024 })
process.stdout.write('READY\n')
const deadline = Date.now() + 30_000 // bounded even if nobody kills it
let n = Number(first)
let told = 0
const rnd = seededRandom("checkpoint-writer's pauses", Number(seed))
const inFlight = new Set<Promise<void>>()
while (Date.now() < deadline) {
  const row = n++
  const p = store
    .write(() => store.setMeta(`row${row}`, rowValue(Number(seed), row)))
    .then(() => {
      process.stdout.write(`ACK ${row}\n`)
      if (store.checkpoints > told) {
        told = store.checkpoints
        process.stdout.write(`CKPT ${told}\n`)
      }
    })
  inFlight.add(p)
  void p.finally(() => inFlight.delete(p))
  if (inFlight.size >= 4) await Promise.race(inFlight)
  if (rnd.int(200) === 0) await new Promise((r) => setTimeout(r, 300)) // a quiet moment
}
await Promise.all(inFlight)
store.close()
