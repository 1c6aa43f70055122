/**
 * The editor module (CodeMirror; Automerge and its WASM load in the editor's worker) loads after the
 * first paint. `preloadEditor()` at boot starts fetching it, and starts the worker, while the user
 * looks at the sidebar.
 */
type EditorModule = typeof import('./index.ts')

let loading: Promise<EditorModule> | null = null

export function loadEditor(): Promise<EditorModule> {
  loading ??= import('./index.ts')
    .then((m) => {
      m.editorWorker()
      return m
    })
    .catch((err: unknown) => {
      loading = null
      throw err
    })
  return loading
}

export function preloadEditor(): void {
  void loadEditor().catch(() => {})
}
