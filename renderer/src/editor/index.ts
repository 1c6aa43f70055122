/** The editor bundle (CodeMirror, Automerge and the replica), loaded lazily: see load.ts. */
export { Editor, type TeammateCursor } from './Editor.tsx'
export { VersionText } from './VersionText.tsx'
export { DocReplica } from './replica.ts'
export { frameScheduler } from './scheduler.ts'
export { toCursors } from './cursors.ts'
export { changedSince } from './since-read.ts'
export { startAutomerge } from './automerge-wasm.ts'
