/** When batched work runs: the replica's sends and teammates' changes that came during an apply. */

/** Runs `fn` soon, once: in the editor's worker, a few milliseconds later (replica-worker.ts). */
export type Scheduler = (fn: () => void) => void
