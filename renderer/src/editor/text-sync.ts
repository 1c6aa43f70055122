/**
 * Two copies of one text, each edited at once where it lives, kept equal over an ordered channel:
 * the window's editor and the replica in the editor's worker (replica-worker.ts). Neither side ever
 * waits for the other before applying its own edit or sending it.
 *
 * This is the two-party operational transformation of Jupiter (Nichols et al., 1995), over
 * CodeMirror's ChangeSets, whose `map` is the transform `@codemirror/collab` relies on too. Each
 * message carries how many of the receiver's edits the sender had applied (`seen`); the receiver maps
 * the incoming edit over its own edits the sender had not seen, and those over it. Where both insert
 * at one position, the window's text goes first, on both sides.
 *
 * Positions travel the same way: a side sends them in its own text with `seen`, and the receiver maps
 * them over its own edits the sender had not seen.
 */
import { ChangeSet } from '@codemirror/state'

/** An edit as sent: the ChangeSet's JSON and how many of the receiver's edits the sender had applied. */
export interface SyncEdit {
  changes: unknown
  seen: number
}

export class TextSync {
  /** True on the window's side: its insertions go before the other side's at the same position. */
  private readonly first: boolean
  /** This side's edits the other side had not seen when it last spoke, oldest first. */
  private unseen: ChangeSet[] = []
  /** How many of this side's edits come before `unseen[0]`. */
  private unseenFrom = 0
  /** This side's edits made so far. */
  private made = 0
  /** The other side's edits applied here. */
  private applied = 0

  constructor(side: 'window' | 'worker') {
    this.first = side === 'window'
  }

  /** An edit made here (already applied to this side's text): the message that carries it. */
  local(changes: ChangeSet): SyncEdit {
    this.unseen.push(changes)
    this.made++
    return { changes: changes.toJSON(), seen: this.applied }
  }

  /** This side's edits the other side has not acknowledged yet (kept to map its messages over). */
  unacknowledged(): number {
    return this.unseen.length
  }

  /** How many of the other side's edits this side has applied (for messages that are not edits). */
  seen(): number {
    return this.applied
  }

  /**
   * The other side's edit, as it applies to this side's text of `length` characters. Throws if the
   * message does not fit (a bug or a broken channel): the two texts would part.
   */
  receive(edit: SyncEdit, length: number): ChangeSet {
    this.ack(edit.seen)
    let theirs = ChangeSet.fromJSON(edit.changes)
    for (let i = 0; i < this.unseen.length; i++) {
      const mine = this.unseen[i]!
      const mapped = theirs.map(mine, !this.first)
      this.unseen[i] = mine.map(theirs, this.first)
      theirs = mapped
    }
    if (theirs.length !== length) throw new Error(`an edit for a text of ${theirs.length} characters, not ${length}`)
    this.applied++
    return theirs
  }

  /**
   * A position the other side sent (in its text, when it had applied `seen` of this side's edits), as
   * it is in this side's text now. `assoc` is the side it sticks to where text is inserted at it.
   */
  mapPos(pos: number, seen: number, assoc: -1 | 1 = -1): number {
    this.ack(seen)
    let at = pos
    for (const mine of this.unseen) at = mine.mapPos(at, assoc)
    return at
  }

  /**
   * The other side had applied `seen` of this side's edits: those no longer need mapping over. Each
   * message does this; a side that sends nothing else (a window where only one person types) still
   * acknowledges now and then, or the edits would be kept for nothing.
   */
  ack(seen: number): void {
    const drop = seen - this.unseenFrom
    if (!Number.isInteger(drop) || drop < 0 || drop > this.unseen.length)
      throw new Error(`acknowledges ${seen} edits; ${this.made} were made`)
    this.unseen.splice(0, drop)
    this.unseenFrom = seen
  }
}
