/** Small hooks over the peer client: queries that refresh on events, event subscriptions, clocks. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { ClientEvent } from '../../../shared/protocol.ts'
import { errorCode } from '../lib/errors.ts'
import { useClient } from './client-context.tsx'
import { type StatusClient, SyncStatusSource, type SyncStatusState } from './sync-status.ts'
import { ListingSource, type ListingState } from './doc-listing.ts'

interface Query<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload: () => void
}

/**
 * Loads with `load()` now, again whenever `deps` change, when an event matches `refreshOn` (which may
 * answer later, e.g. after a lookup; several close together cause one reload), and every `everyMs` if given.
 */
export function usePeerQuery<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  opts: { refreshOn?: (e: ClientEvent) => boolean | Promise<boolean>; everyMs?: number; enabled?: boolean } = {},
): Query<T> {
  const client = useClient()
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: null,
    loading: true,
  })
  const loadRef = useRef(load)
  const optsRef = useRef(opts)
  loadRef.current = load
  optsRef.current = opts
  const generation = useRef(0)
  const enabled = opts.enabled ?? true

  const run = useCallback(() => {
    const g = ++generation.current
    setState((s) => ({ ...s, loading: true }))
    loadRef.current().then(
      (data) => {
        if (g === generation.current) setState({ data, error: null, loading: false })
      },
      (error: unknown) => {
        if (g === generation.current) setState((s) => ({ data: s.data, error, loading: false }))
      },
    )
  }, [])

  useEffect(() => {
    if (!enabled) return
    setState({ data: undefined, error: null, loading: true })
    run()
    let timer: ReturnType<typeof setTimeout> | null = null
    let live = true
    const soon = (): void => {
      if (!live) return
      timer ??= setTimeout(() => {
        timer = null
        run()
      }, 80)
    }
    const off = client.onEvent((e) => {
      const yes = optsRef.current.refreshOn?.(e)
      if (yes === true) soon()
      else if (yes instanceof Promise)
        void yes.then(
          (y) => y && soon(),
          () => {},
        )
    })
    const every = optsRef.current.everyMs
    const interval = every ? setInterval(run, every) : null
    return () => {
      live = false
      generation.current++
      off()
      if (timer) clearTimeout(timer)
      if (interval) clearInterval(interval)
    }
  }, [client, run, enabled, ...deps])

  return { ...state, reload: run }
}

/** The current time, updated every `ms` (for "5 min ago" and teammates' clocks). */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms)
    return () => clearInterval(t)
  }, [ms])
  return now
}

/** True once `flag` has been true for `ms`: a progress indicator only for what takes a moment. */
export function useDelayed(flag: boolean, ms = 300): boolean {
  const [shown, setShown] = useState(false)
  useEffect(() => {
    if (!flag || ms <= 0) return setShown(false)
    const t = setTimeout(() => setShown(true), ms)
    return () => clearTimeout(t)
  }, [flag, ms])
  return flag && (shown || ms <= 0)
}

/** Runs an async action, tracking whether it is busy and its error. */
export function useAction<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
): {
  run: (...args: A) => Promise<R | undefined>
  busy: boolean
  error: unknown
  clearError: () => void
} {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const fnRef = useRef(fn)
  fnRef.current = fn
  const mounted = useRef(true)
  useEffect(() => {
    mounted.current = true
    return () => {
      mounted.current = false
    }
  }, [])
  const run = useCallback(async (...args: A): Promise<R | undefined> => {
    setBusy(true)
    setError(null)
    try {
      return await fnRef.current(...args)
    } catch (err) {
      // Errors from the peer are expected answers (shown in words); anything else is a bug.
      if (errorCode(err)) console.info(String((err as Error).message))
      else console.error(err)
      if (mounted.current) setError(err)
      return undefined
    } finally {
      if (mounted.current) setBusy(false)
    }
  }, [])
  return { run, busy, error, clearError: useCallback(() => setError(null), []) }
}

const sources = new WeakMap<StatusClient, Map<string, SyncStatusSource>>()

/** The window's one source for `docId` on `client` (idle, with no timer or listener, while nothing subscribes). */
function syncStatusSource(client: StatusClient, docId: string): SyncStatusSource {
  let byDoc = sources.get(client)
  if (!byDoc) {
    byDoc = new Map()
    sources.set(client, byDoc)
  }
  let s = byDoc.get(docId)
  if (!s) {
    s = new SyncStatusSource(client, docId)
    byDoc.set(docId, s)
  }
  return s
}

/**
 * The peer says `docId`'s status changed: shown statuses ask again. For a document open in the editor,
 * whose `doc.sync` events go to the editor's worker, not to the window's session.
 */
export function refreshSyncStatus(client: StatusClient, docId: string): void {
  sources.get(client)?.get(docId)?.refresh()
}

/** The open document's sync status, shared by every component that shows it; null: none wanted (no document). */
export function useSyncStatus(docId: string | null): SyncStatusState & { refresh: () => void } {
  const client = useClient()
  const source = docId ? syncStatusSource(client, docId) : null
  const [state, setState] = useState<SyncStatusState>(() => source?.state ?? { data: undefined, error: null })
  useEffect(() => {
    if (!source) {
      setState({ data: undefined, error: null })
      return
    }
    setState(source.state)
    return source.subscribe(setState)
  }, [source])
  const refresh = useCallback(() => source?.refresh(), [source])
  return { ...state, refresh }
}

/** A workspace's documents, kept up to date row by row as the peer says which changed (data/doc-listing.ts). */
export function useDocList(workspaceId: string): ListingState & { reload: () => void } {
  const client = useClient()
  const source = useMemo(() => new ListingSource(client, workspaceId), [client, workspaceId])
  const [state, setState] = useState<ListingState>(source.state)
  useEffect(() => {
    setState(source.state)
    return source.subscribe(setState)
  }, [source])
  const reload = useCallback(() => source.reload(), [source])
  return { ...state, reload }
}
