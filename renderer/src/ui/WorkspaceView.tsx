/**
 * A workspace: the top bar, the documents sidebar, the open document, the teammates panel, and
 * the workspace's dialogs (command palette, invite, network, delete). Keeps this device's presence
 * (open document and selection) up to date and listens to teammates'.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { ADMIN_ROLES, WRITER_ROLES } from '../../../shared/types.ts'
import type { DocumentSummary, InviteInfo, JoinRequestInfo, WorkspaceInfo } from '../../../shared/types.ts'
import { useClient, useSession } from '../data/client-context.tsx'
import { useAction, useDocList, usePeerQuery } from '../data/hooks.ts'
import { usePresence, usePresenceSender } from '../data/presence.ts'
import type { Route } from '../lib/route.ts'
import { FIND_EVENT, HISTORY_EVENT, type CommandName } from '../lib/commands.ts'
import { cannotLeave, leaveQuestion } from '../lib/membership.ts'
import { CommandPalette, type PaletteItem } from './CommandPalette.tsx'
import { ConfirmDialog } from './ConfirmDialog.tsx'
import { DocView } from './DocView.tsx'
import { Dialog } from './Dialog.tsx'
import { ErrorText } from './ErrorText.tsx'
import { Progress } from './Progress.tsx'
import { InviteDialog } from './InviteDialog.tsx'
import { JoinRequests } from './JoinRequests.tsx'
import { NetworkDialog } from './NetworkDialog.tsx'
import { awayLongEnough, DigestDialog, noteActive } from './DigestDialog.tsx'
import { BoardView } from './BoardView.tsx'
import { SearchDialog, type SearchChoice } from './SearchDialog.tsx'
import { ExportDialog, ImportDialog } from './TransferDialog.tsx'
import { download, exportDocument } from '../lib/transfer.ts'
import { Sidebar } from './Sidebar.tsx'
import { displayTitle } from '../lib/format.ts'
import { TasksView } from './TasksView.tsx'
import { TeammatesPanel } from './TeammatesPanel.tsx'
import { TopBar } from './TopBar.tsx'
import { workspaceActions, type WorkspaceDialogName } from './workspace-actions.ts'
import { KeeperView, NoDocument } from './WorkspaceEmpty.tsx'
import { WorkspaceDialog } from './WorkspaceDialog.tsx'

export interface WorkspaceViewProps {
  workspace: WorkspaceInfo
  workspaces: WorkspaceInfo[]
  docId: string | null
  /** A card of the board `docId` open in its dialog (from the URL). */
  cardId: string | null
  /** The "my tasks" list is shown (no document then). */
  tasks: boolean
  navigate: (r: Route) => void
  /** The latest command from a shortcut or the app menu; `seq` changes each time. */
  command: { name: CommandName; seq: number } | null
  joinRequests: JoinRequestInfo[]
  onAnswered: (requestId: string) => void
  /** Palette entries that are not about this workspace (switch, create, join, your name). */
  globalItems: PaletteItem[]
  /** This device leaves the workspace (after the user confirmed); rejects with the peer's error. */
  onLeave: (workspace: WorkspaceInfo) => Promise<void>
}

type DialogName = WorkspaceDialogName | null

export function WorkspaceView(p: WorkspaceViewProps) {
  const client = useClient()
  const { self } = useSession()
  const ws = p.workspace
  const wsId = ws.id
  const canWrite = WRITER_ROLES.includes(ws.role)
  const canInvite = ADMIN_ROLES.includes(ws.role)
  const [dialog, setDialog] = useState<DialogName>(null)
  const [deleting, setDeleting] = useState<DocumentSummary | null>(null)
  const [showTeammates, setShowTeammates] = useState(true)
  const [focusTitleOf, setFocusTitleOf] = useState<string | null>(null)
  /** The document made here last: known (its kind above all) before the list has it. */
  const [created, setCreated] = useState<DocumentSummary | null>(null)
  /** A search hit to show in the document it opened. */
  const [reveal, setReveal] = useState<{ docId: string; at: number; length: number; seq: number } | null>(null)
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(new Set())
  // The invite shown last (its code lives only here, in memory): shown again while it is open.
  const lastInvite = useRef<InviteInfo | null>(null)
  const mayLeave = cannotLeave(ws.role) === null

  const docs = useDocList(wsId)
  const members = usePeerQuery(() => client.request('workspace.members', { workspaceId: wsId }), [wsId], {
    refreshOn: (e) => (e.type === 'workspace.members' && e.workspaceId === wsId) || e.type === 'peer.list',
    everyMs: 15_000,
  })
  const presence = usePresence(wsId, self.deviceId)
  const presenceList = useMemo(() => [...presence.values()], [presence])
  const sendPresence = usePresenceSender(wsId, p.docId)
  const teammatesOnline = (members.data ?? []).filter((m) => !m.self && m.online).length

  const open = useCallback((docId: string | null) => p.navigate({ workspaceId: wsId, docId }), [p.navigate, wsId])
  const showTasks = useCallback(() => p.navigate({ workspaceId: wsId, docId: null, tasks: true }), [p.navigate, wsId])

  // After time away, the digest opens by itself when teammates changed something; while the workspace is in
  // view, that it was is noted every minute.
  useEffect(() => {
    if (ws.role === 'keeper') return
    let cancelled = false
    if (awayLongEnough(wsId))
      void client.request('workspace.digest', { workspaceId: wsId }).then(
        (d) => {
          if (!cancelled && (d.documents.length > 0 || d.members.length > 0)) setDialog((x) => x ?? 'digest')
        },
        () => {},
      )
    noteActive(wsId)
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') noteActive(wsId)
    }, 60_000)
    return () => {
      cancelled = true
      clearInterval(timer)
    }
  }, [client, wsId, ws.role])
  const create = useAction(async () => client.request('doc.create', { workspaceId: wsId, title: '' }))
  const newDoc = useCallback(async () => {
    if (!canWrite) return
    const d = await create.run()
    if (!d) return
    setCreated(d)
    setFocusTitleOf(d.id)
    open(d.id)
    docs.reload()
  }, [canWrite, create.run, open, docs.reload])
  const createBoard = useAction(async () => client.request('board.create', { workspaceId: wsId, title: '' }))
  const newBoard = useCallback(async () => {
    if (!canWrite) return
    const d = await createBoard.run()
    if (!d) return
    setCreated(d)
    setFocusTitleOf(d.id)
    open(d.id)
    docs.reload()
  }, [canWrite, createBoard.run, open, docs.reload])
  const exportDoc = useAction(async (docId: string) => {
    const out = await exportDocument(client, docId)
    download(out.name, out.blob)
  })
  const rename = useAction(async (docId: string, title: string) => {
    await client.request('doc.rename', { docId, title })
    docs.reload()
  })
  const onRead = useCallback(
    (docId: string) => {
      if (docs.data?.find((d) => d.id === docId)?.unread) docs.reload()
    },
    [docs.data, docs.reload],
  )

  // Commands from shortcuts and the app menu.
  // Only commands issued while this view is mounted (not the one that was last before it).
  // Each runs once: the effect also re-runs when newDoc or canInvite change, and skips a seq it has seen.
  const command = p.command
  const seenCommand = useRef(command?.seq)
  useEffect(() => {
    if (!command || command.seq === seenCommand.current) return
    seenCommand.current = command.seq
    switch (command.name) {
      case 'new-document':
        void newDoc()
        break
      case 'new-board':
        void newBoard()
        break
      case 'my-tasks':
        if (ws.role !== 'keeper') showTasks()
        break
      case 'command-palette':
        setDialog((d) => (d === 'palette' ? null : 'palette'))
        break
      case 'invite':
        if (canInvite) setDialog('invite')
        break
      case 'network':
        setDialog('network')
        break
      case 'find':
        // In a document: its find panel (the editor listens); else the sidebar's filter.
        if (document.querySelector('[data-testid="editor"]')) window.dispatchEvent(new Event(FIND_EVENT))
        else (document.querySelector('[data-testid="doc-filter"]') as HTMLInputElement | null)?.focus()
        break
      case 'search':
        if (ws.role !== 'keeper') setDialog('search')
        break
      case 'history':
        // The open document's history (DocView listens).
        window.dispatchEvent(new Event(HISTORY_EVENT))
        break
      case 'export':
        if (ws.role !== 'keeper') setDialog('export')
        break
      case 'import':
        if (canWrite) setDialog('import')
        break
    }
  }, [command, newDoc, newBoard, showTasks, canInvite, canWrite, ws.role])

  const current = docs.data?.find((d) => d.id === p.docId) ?? (created?.id === p.docId ? created : undefined)
  const items = useMemo(
    (): PaletteItem[] => [
      ...workspaceActions({
        name: ws.name,
        role: ws.role,
        canWrite,
        canInvite,
        mayLeave,
        showTeammates,
        current,
        docs: docs.data,
        newDoc: () => void newDoc(),
        newBoard: () => void newBoard(),
        showTasks,
        open,
        openDialog: setDialog,
        toggleTeammates: () => setShowTeammates((s) => !s),
        deleteDoc: setDeleting,
        exportDoc: (docId) => void exportDoc.run(docId),
      }),
      ...p.globalItems,
    ],
    [
      canWrite,
      canInvite,
      showTeammates,
      current,
      docs.data,
      p.globalItems,
      newDoc,
      newBoard,
      showTasks,
      open,
      ws.name,
      ws.role,
      mayLeave,
      exportDoc.run,
    ],
  )

  // Requests not shown in an open invite dialog get a dialog of their own (until dismissed: the
  // peer then lets them time out; the invite dialog still lists them).
  const elsewhere = p.joinRequests.filter((r) => !dismissed.has(r.requestId) && (dialog !== 'invite' || r.workspaceId !== wsId))

  return (
    <div className={`workspace ${showTeammates ? 'with-teammates' : ''}`} data-testid="workspace" data-workspace-id={wsId}>
      <TopBar
        workspace={ws}
        workspaces={p.workspaces}
        self={self}
        canInvite={canInvite}
        showTeammates={showTeammates}
        onSwitch={(id) => p.navigate({ workspaceId: id, docId: null })}
        onPalette={() => setDialog('palette')}
        onInvite={() => setDialog('invite')}
        onNetwork={() => setDialog('network')}
        onWorkspace={() => setDialog('workspace')}
        onToggleTeammates={() => setShowTeammates((s) => !s)}
      />
      <Sidebar
        docs={docs.data}
        loading={docs.loading}
        selectedId={p.docId}
        canWrite={canWrite}
        selfId={self.deviceId}
        onOpen={open}
        onNew={() => void newDoc()}
        onNewBoard={() => void newBoard()}
        onTasks={ws.role === 'keeper' ? null : showTasks}
        tasksSelected={p.tasks}
        creating={create.busy || createBoard.busy}
        onRename={async (id, title) => {
          await rename.run(id, title)
        }}
        onDelete={setDeleting}
      />
      {ws.role === 'keeper' ? (
        <KeeperView name={ws.name} />
      ) : p.tasks ? (
        <TasksView workspaces={p.workspaces} navigate={p.navigate} />
      ) : p.docId ? (
        !current && !docs.data ? (
          // Which kind of document it is comes with the list: a board must never mount the text editor.
          <main className="doc-view" data-testid="doc-loading" aria-busy="true">
            <div className="doc-loading">
              <Progress label="Opening…" />
            </div>
          </main>
        ) : current?.kind === 'board' ? (
          <BoardView
            key={p.docId}
            docId={p.docId}
            canWrite={canWrite}
            members={members.data ?? []}
            teammatesOnline={teammatesOnline}
            cardId={p.cardId}
            onOpenCard={(cardId) =>
              p.navigate(cardId ? { workspaceId: wsId, docId: current.id, cardId } : { workspaceId: wsId, docId: current.id })
            }
            onRead={onRead}
            focusTitle={focusTitleOf === p.docId}
          />
        ) : (
          <DocView
            key={p.docId}
            docId={p.docId}
            canWrite={canWrite}
            presence={presenceList}
            teammatesOnline={teammatesOnline}
            onCursor={sendPresence}
            onRead={onRead}
            focusTitle={focusTitleOf === p.docId}
            reveal={reveal?.docId === p.docId ? reveal : null}
          />
        )
      ) : (
        <NoDocument
          name={ws.name}
          hasDocs={(docs.data?.length ?? 0) > 0}
          canWrite={canWrite}
          canInvite={canInvite}
          onNewDoc={() => void newDoc()}
          onNewBoard={() => void newBoard()}
        />
      )}
      {showTeammates && (
        <TeammatesPanel
          workspace={ws}
          members={members.data}
          presence={presence}
          docs={docs.data}
          onOpenDoc={open}
          openDocId={p.docId}
          onChanged={members.reload}
        />
      )}
      <div className="toasts">
        <ErrorText error={docs.error ?? members.error} />
        <ErrorText error={create.error} onDismiss={create.clearError} />
        <ErrorText error={createBoard.error} onDismiss={createBoard.clearError} />
        <ErrorText error={rename.error} onDismiss={rename.clearError} />
        <ErrorText error={exportDoc.error} onDismiss={exportDoc.clearError} />
      </div>

      {dialog === 'palette' && <CommandPalette items={items} onClose={() => setDialog(null)} />}
      {dialog === 'export' && <ExportDialog workspace={ws} documents={docs.data?.length ?? 0} onClose={() => setDialog(null)} />}
      {dialog === 'import' && <ImportDialog workspace={ws} onClose={() => setDialog(null)} onImported={docs.reload} />}
      {dialog === 'digest' && (
        <DigestDialog
          workspaceId={wsId}
          onClose={() => {
            setDialog(null)
            docs.reload()
          }}
          onOpen={(docId, at, length) => {
            open(docId)
            if (at !== null) setReveal({ docId, at, length, seq: Date.now() })
          }}
        />
      )}
      {dialog === 'search' && (
        <SearchDialog
          workspaceId={wsId}
          onClose={() => setDialog(null)}
          onOpen={(c: SearchChoice) => {
            open(c.docId)
            if (c.at !== null) setReveal({ docId: c.docId, at: c.at, length: c.length, seq: Date.now() })
          }}
        />
      )}
      {dialog === 'invite' && (
        <InviteDialog
          workspace={ws}
          self={self}
          requests={p.joinRequests}
          onAnswered={p.onAnswered}
          onClose={() => setDialog(null)}
          last={lastInvite.current}
          onCreated={(inv) => {
            lastInvite.current = inv
          }}
        />
      )}
      {dialog === 'network' && <NetworkDialog onClose={() => setDialog(null)} />}
      {dialog === 'workspace' && (
        <WorkspaceDialog workspace={ws} members={members.data} onLeave={() => setDialog('leave')} onClose={() => setDialog(null)} />
      )}
      {dialog === 'leave' && mayLeave && (
        <ConfirmDialog
          {...leaveQuestion(ws.name)}
          confirmLabel={`Leave ${ws.name}`}
          onConfirm={() => p.onLeave(ws)}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === null && elsewhere.length > 0 && (
        <Dialog title="Someone wants to join" onClose={() => setDismissed(new Set([...dismissed, ...elsewhere.map((r) => r.requestId)]))}>
          <JoinRequests requests={elsewhere} onAnswered={p.onAnswered} />
        </Dialog>
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete document?"
          confirmLabel="Delete"
          message={`“${displayTitle(deleting.title)}” will be deleted for everyone in ${ws.name}.`}
          onConfirm={async () => {
            await client.request('doc.delete', { docId: deleting.id })
            if (p.docId === deleting.id) open(null)
            docs.reload()
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </div>
  )
}
