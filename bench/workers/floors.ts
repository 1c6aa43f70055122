/**
 * Floors: a loopback TCP round trip between two processes (one runs `listen`, the other `ping`),
 * and bare Automerge in one process (make a one-keystroke change, apply it to a second copy).
 */
import { createServer, connect, type Server } from 'node:net'
import * as A from '@automerge/automerge'
import { serve } from '../lib/serve.ts'
import { now } from '../lib/stats.ts'

let server: Server | null = null

serve(
  {
    async listen() {
      server = createServer((sock) => {
        sock.setNoDelay(true)
        sock.on('data', (d) => sock.write(d))
      })
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()))
      const a = server.address()
      return typeof a === 'object' && a ? a.port : 0
    },
    /** Round trips of a 64-byte message, one at a time, `intervalMs` apart. */
    async ping({ port, count, intervalMs }: { port: number; count: number; intervalMs: number }) {
      const sock = connect(port, '127.0.0.1')
      sock.setNoDelay(true)
      await new Promise<void>((r) => sock.once('connect', () => r()))
      const msg = Buffer.alloc(64, 1)
      const rtts: number[] = []
      for (let i = 0; i < count; i++) {
        const t0 = now()
        let got = 0
        await new Promise<void>((r) => {
          const on = (d: Buffer): void => {
            got += d.length
            if (got >= msg.length) {
              sock.off('data', on)
              r()
            }
          }
          sock.on('data', on)
          sock.write(msg)
        })
        rtts.push(now() - t0)
        if (intervalMs) await new Promise((r) => setTimeout(r, intervalMs))
      }
      sock.destroy()
      return rtts
    },
    /** Per keystroke: change on one copy, take its bytes, apply them to another copy. */
    automerge({ keys }: { keys: number }) {
      let a = A.from<{ text: string }>({ text: '' })
      let b = A.load<{ text: string }>(A.save(a))
      const times: number[] = []
      for (let k = 0; k < keys; k++) {
        const t0 = now()
        a = A.change(a, (d) => {
          A.splice(d, ['text'], d.text.length, 0, 'x')
        })
        ;[b] = A.applyChanges(b, [A.getLastLocalChange(a)!])
        times.push(now() - t0)
      }
      if (b.text !== a.text) throw new Error('bare Automerge copies differ')
      return times
    },
  },
  () => {
    server?.close()
  },
)
