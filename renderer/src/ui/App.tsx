/**
 * One connected session: who this device is, its workspaces, where the user is (the URL hash),
 * first-run onboarding, join requests, and the dialogs that are not about one workspace.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { DeviceInfo, JoinRequestInfo, WorkspaceInfo } from '../../../shared/types.ts'
import { SessionContext } from '../data/client-context.tsx'
import type { EditorVia } from '../transport.ts'
import type { CommandName } from '../lib/commands.ts'
import { plainError } from '../lib/errors.ts'
import { leftMessage, removedFrom, removedMessage } from '../lib/membership.ts'
import { formatRoute, parseRoute, type Route } from '../lib/route.ts'
import { Banner } from './Banner.tsx'
import type { PaletteItem } from './CommandPalette.tsx'
import { Dialog } from './Dialog.tsx'
import { JoinFlow } from './JoinFlow.tsx'
import { NameForm } from './NameForm.tsx'
import { CreateWorkspaceForm, Onboarding } from './Onboarding.tsx'
import { Progress } from './Progress.tsx'
import { WorkspaceView } from './WorkspaceView.tsx'

export interface AppProps {
  client: PeerClient
  /** How the editor's worker reaches the peer for this connection. */
  editor: EditorVia
  command: { name: CommandName; seq: number } | null
  /** An invite link opened from the OS (grapevine://join/…); `seq` changes each time. */
  invite: { link: string; seq: number } | null
  /** The invite has been taken in hand (so a reconnection does not open it again). */
  onInviteTaken: () => void
  /** A document to show (a notification about it was clicked). */
  openDoc: { docId: string; seq: number } | null
  onOpenDocTaken: () => void
}

type GlobalDialog = 'join' | 'new-workspace' | 'name' | null

/**
 * The route, where to go, and where the user is now (for callbacks that run after awaits: the route
 * they closed over may be stale by then).
 */
function useHashRoute(): [Route, (r: Route, replace?: boolean) => void, () => Route] {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  const latest = useRef(route)
  useEffect(() => {
    const on = (): void => {
      latest.current = parseRoute(location.hash)
      setRoute(latest.current)
    }
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  const navigate = useCallback((r: Route, replace = false) => {
    const hash = formatRoute(r)
    if (hash !== location.hash) {
      if (replace) history.replaceState(null, '', hash)
      else history.pushState(null, '', hash)
    }
    latest.current = r
    setRoute(r)
  }, [])
  const now = useCallback(() => latest.current, [])
  return [route, navigate, now]
}

export function App({ client, editor, command, invite, onInviteTaken, openDoc, onOpenDocTaken }: AppProps) {
  const [self, setSelf] = useState<DeviceInfo | null>(null)
  const [workspaces, setWorkspaces] = useState<WorkspaceInfo[] | null>(null)
  const [bootError, setBootError] = useState<unknown>(null)
  const [route, navigate, routeNow] = useHashRoute()
  const [dialog, setDialog] = useState<GlobalDialog>(null)
  const [inviteLink, setInviteLink] = useState<string | null>(null)
  const [requests, setRequests] = useState<JoinRequestInfo[]>([])
  /** What just happened to a workspace (left, removed), until dismissed. */
  const [notice, setNotice] = useState<string | null>(null)
  // Workspaces this device is leaving or left, so that their going is not taken for a removal.
  const left = useRef(new Set<string>())
  const shown = useRef<WorkspaceInfo[] | null>(null)

  const loadWorkspaces = useCallback(async () => {
    try {
      const all = await client.request('workspace.list', {})
      const before = shown.current
      const gone = before ? removedFrom(before, all, left.current) : []
      for (const w of all) left.current.delete(w.id)
      shown.current = all
      // A notice about leaving or removal stays until dismissed, or until this device joins a workspace.
      if (gone.length) setNotice(removedMessage(gone.map((w) => w.name)))
      else if (before && all.some((w) => !before.some((b) => b.id === w.id))) setNotice(null)
      setWorkspaces(all)
    } catch (err) {
      setBootError(err)
    }
  }, [client])

  useEffect(() => {
    client.request('identity.get', {}).then(setSelf, setBootError)
    void loadWorkspaces()
    const add = (more: JoinRequestInfo[]): void =>
      setRequests((rs) => [...rs, ...more.filter((r) => !rs.some((x) => x.requestId === r.requestId))])
    // Requests that were waiting before this window connected (after a reload, say).
    client.request('join.requests', {}).then(add, () => {})
    return client.onEvent((e) => {
      if (e.type === 'workspace.list' || e.type === 'workspace.members') void loadWorkspaces()
      if (e.type === 'join.request') add([e.request])
      if (e.type === 'join.settled') setRequests((rs) => rs.filter((r) => r.requestId !== e.requestId))
    })
  }, [client, loadWorkspaces])

  // An invite link from the OS: in the join step of onboarding, or in the join dialog.
  useEffect(() => {
    if (!invite || workspaces === null) return
    onInviteTaken()
    setInviteLink(invite.link)
    if (workspaces.length) setDialog('join')
  }, [invite, workspaces, onInviteTaken])

  // A document named from outside (a notification): find its workspace, then show it.
  useEffect(() => {
    if (!openDoc || workspaces === null) return
    onOpenDocTaken()
    void (async () => {
      for (const w of workspaces) {
        const docs = await client.request('doc.list', { workspaceId: w.id }).catch(() => [])
        if (docs.some((d) => d.id === openDoc.docId)) return navigate({ workspaceId: w.id, docId: openDoc.docId })
      }
    })()
  }, [openDoc, workspaces, client, navigate, onOpenDocTaken])

  const answered = useCallback((id: string) => setRequests((rs) => rs.filter((r) => r.requestId !== id)), [])
  const entered = useCallback(
    (ws: WorkspaceInfo) => {
      setDialog(null)
      setInviteLink(null)
      setNotice(null)
      setWorkspaces((all) => (all?.some((w) => w.id === ws.id) ? all : [...(all ?? []), ws]))
      // The peer announces a new workspace before it answers (it still names it in sealed ops), so the
      // user may be in it already, even in a document made there: stay (e2e/workspace-start).
      if (routeNow().workspaceId !== ws.id) navigate({ workspaceId: ws.id, docId: null })
      void loadWorkspaces()
    },
    [navigate, routeNow, loadWorkspaces],
  )

  const leave = useCallback(
    async (ws: WorkspaceInfo) => {
      left.current.add(ws.id)
      try {
        const r = await client.request('workspace.leave', { workspaceId: ws.id })
        setNotice(leftMessage(ws.name, r))
      } catch (err) {
        left.current.delete(ws.id)
        throw err
      }
      navigate({ workspaceId: null, docId: null }, true)
      await loadWorkspaces()
    },
    [client, navigate, loadWorkspaces],
  )

  const current = workspaces?.find((w) => w.id === route.workspaceId) ?? workspaces?.[0] ?? null
  const currentId = current?.id
  useEffect(() => {
    if (currentId && currentId !== route.workspaceId) navigate({ workspaceId: currentId, docId: null }, true)
  }, [currentId, route.workspaceId, navigate])

  const globalItems = useMemo(
    (): PaletteItem[] => [
      ...(workspaces ?? [])
        .filter((w) => w.id !== current?.id)
        .map(
          (w): PaletteItem => ({
            id: `ws:${w.id}`,
            group: 'Workspaces',
            label: `Switch to ${w.name}`,
            run: () => navigate({ workspaceId: w.id, docId: null }),
          }),
        ),
      { id: 'ws-new', group: 'Workspaces', label: 'Create a new workspace', run: () => setDialog('new-workspace') },
      { id: 'ws-join', group: 'Workspaces', label: 'Join a workspace with an invite', run: () => setDialog('join') },
      { id: 'name', group: 'Actions', label: 'Change your name', run: () => setDialog('name') },
    ],
    [workspaces, current?.id, navigate],
  )

  if (bootError) {
    return (
      <main className="splash" role="alert" data-testid="boot-error">
        <p>{plainError(bootError)}</p>
      </main>
    )
  }
  if (!self || !workspaces) {
    return (
      <main className="splash" aria-busy="true">
        <Progress label="Starting Grapevine…" />
      </main>
    )
  }
  return (
    <SessionContext.Provider value={{ client, self, editor }}>
      {notice && (
        <Banner tone="info">
          <span data-testid="app-notice">{notice}</span>{' '}
          <button type="button" className="link-button" onClick={() => setNotice(null)}>
            Dismiss
          </button>
        </Banner>
      )}
      {current ? (
        <WorkspaceView
          key={current.id}
          workspace={current}
          workspaces={workspaces}
          docId={route.docId}
          cardId={route.cardId ?? null}
          tasks={route.tasks === true}
          navigate={navigate}
          command={command}
          joinRequests={requests}
          onAnswered={answered}
          globalItems={globalItems}
          onLeave={leave}
        />
      ) : (
        <Onboarding invite={inviteLink} onNamed={setSelf} onReady={entered} />
      )}
      {dialog === 'join' && (
        <Dialog title="Join a workspace" onClose={() => setDialog(null)} testId="join-dialog">
          <JoinFlow initialCode={inviteLink ?? undefined} onJoined={entered} />
        </Dialog>
      )}
      {dialog === 'new-workspace' && (
        <Dialog title="New workspace" onClose={() => setDialog(null)} testId="new-workspace-dialog">
          <CreateWorkspaceForm onCreated={entered} />
        </Dialog>
      )}
      {dialog === 'name' && (
        <Dialog title="Your name" onClose={() => setDialog(null)} testId="name-dialog">
          <NameForm
            initial={self.name}
            submitLabel="Save"
            onDone={(me) => {
              setSelf(me)
              setDialog(null)
            }}
          />
        </Dialog>
      )}
    </SessionContext.Provider>
  )
}
