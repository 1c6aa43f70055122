/** Test double of Electron's MessagePortMain pair: async delivery as `{ data }`, queued until start(). */
import { EventEmitter } from 'node:events'

export class FakePort extends EventEmitter {
  other!: FakePort
  started = false
  closed = false
  private readonly queue: unknown[] = []

  postMessage(message: unknown): void {
    if (this.closed) return
    const data = structuredClone(message)
    setImmediate(() => this.other.deliver(data))
  }

  start(): void {
    this.started = true
    for (const d of this.queue.splice(0)) this.emit('message', { data: d })
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.other.closed = true
    setImmediate(() => this.other.emit('close'))
  }

  private deliver(data: unknown): void {
    if (this.closed) return
    if (!this.started) this.queue.push(data)
    else this.emit('message', { data })
  }

  static pair(): [FakePort, FakePort] {
    const a = new FakePort()
    const b = new FakePort()
    a.other = b
    b.other = a
    return [a, b]
  }
}
