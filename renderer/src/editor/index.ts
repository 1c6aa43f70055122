/** The editor bundle (CodeMirror and the window's side of the editor's worker), loaded lazily: see load.ts. */
export { Editor, type TeammateCursor } from './Editor.tsx'
export { VersionText } from './VersionText.tsx'
export { EditorReplica, editorWorker } from './replica-link.ts'
