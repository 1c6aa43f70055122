/**
 * The editor module (CodeMirror, Automerge and its WASM: most of the app's bytes) loads after
 * the first paint. `preloadEditor()` at boot starts fetching it while the user looks at the sidebar.
 */
type EditorModule = typeof import('./index.ts')

let loading: Promise<EditorModule> | null = null

export function loadEditor(): Promise<EditorModule> {
  loading ??= import('./index.ts')
    .then(async (m) => {
      await m.startAutomerge()
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
