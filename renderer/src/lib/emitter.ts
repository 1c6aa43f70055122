/** A tiny typed event emitter (the browser has EventTarget, but its payloads are untyped). */
type Listener = (...args: unknown[]) => void

export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Set<Listener>>()

  on<K extends keyof Events>(event: K, fn: (...args: Events[K]) => void): void {
    let set = this.listeners.get(event)
    if (!set) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(fn as unknown as Listener)
  }

  off<K extends keyof Events>(event: K, fn: (...args: Events[K]) => void): void {
    this.listeners.get(event)?.delete(fn as unknown as Listener)
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) fn(...args)
  }
}
