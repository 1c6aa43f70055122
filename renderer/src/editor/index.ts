/** The editor bundle, loaded lazily (it carries Automerge's WASM): see load.ts. */
export { Editor, type TeammateCursor } from './Editor.tsx'
export { DocReplica, frameScheduler } from './replica.ts'
export { toCursors } from './cursors.ts'
