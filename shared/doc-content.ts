/**
 * The shape of a Grapevine document inside Automerge: what the peer writes and every replica (the
 * renderer's, the benchmarks') reads. Changes come from teammates, so a reader checks each field's
 * type before trusting it (see the peer's `readContent`).
 */
export interface DocContent {
  title: string
  /** Markdown, as Automerge text. */
  text: string
  deleted?: boolean
}
