/**
 * The newest answer, when requests overlap and answers can come back in another order than asked: an
 * answer shows only if no answer to a later request (or a preview for one) shows already. While held,
 * answers wait and the newest of them shows when the hold ends.
 */
export class Newest<T> {
  private asked = 0
  private shown = 0
  private held = false
  private waiting: { seq: number; value: T } | null = null
  private readonly show: (value: T) => void

  constructor(show: (value: T) => void) {
    this.show = show
  }

  /** The number of a request about to be sent. */
  ask(): number {
    return ++this.asked
  }

  /** Request `seq` shows its expected outcome now (the caller shows it): older answers no longer show. */
  claim(seq: number): void {
    this.shown = Math.max(this.shown, seq)
  }

  /** The answer to request `seq`. */
  answer(seq: number, value: T): void {
    if (seq < this.shown) return
    if (this.held) {
      if (!this.waiting || seq >= this.waiting.seq) this.waiting = { seq, value }
      return
    }
    this.shown = seq
    this.show(value)
  }

  hold(on: boolean): void {
    this.held = on
    const w = this.waiting
    this.waiting = null
    if (!on && w) this.answer(w.seq, w.value)
  }

  /** Starts again (another document): no answer to a request asked before shows. */
  reset(): void {
    this.shown = this.asked + 1
    this.held = false
    this.waiting = null
  }
}
