/**
 * The page's root: keeps the connection to the peer, takes shortcuts and the shell's messages, and
 * shows the state of the peer in a banner. Each new connection remounts the app.
 */
import { useCallback, useEffect, useRef, useState } from 'react'
import type { PeerClient } from '../../../shared/protocol.ts'
import type { Connection, ConnectionState } from '../connection.ts'
import type { EditorVia } from '../transport.ts'
import { shortcutFor, type CommandName } from '../lib/commands.ts'
import type { PeerStatus, ShellMessage } from '../shell-messages.ts'
import { ConnectedContext } from '../data/client-context.tsx'
import { App } from './App.tsx'
import { Banner } from './Banner.tsx'
import { Progress } from './Progress.tsx'

export interface RootProps {
  connection: Connection
  shell: { subscribe(fn: (m: ShellMessage) => void): () => void }
}

export function Root({ connection, shell }: RootProps) {
  const [conn, setConn] = useState<ConnectionState>({ status: 'connecting', kind: 'electron' })
  const [live, setLive] = useState<{ client: PeerClient; generation: number; editor: EditorVia } | null>(null)
  const [peerStatus, setPeerStatus] = useState<PeerStatus | null>(null)
  const [slow, setSlow] = useState(false)
  const [command, setCommand] = useState<{ name: CommandName; seq: number } | null>(null)
  const [invite, setInvite] = useState<{ link: string; seq: number } | null>(null)
  const [openDoc, setOpenDoc] = useState<{ docId: string; seq: number } | null>(null)
  const seq = useRef(0)
  const inviteTaken = useCallback(() => setInvite(null), [])
  const openDocTaken = useCallback(() => setOpenDoc(null), [])
  const issue = useCallback((name: CommandName) => setCommand({ name, seq: ++seq.current }), [])

  useEffect(
    () =>
      connection.subscribe((s) => {
        setConn(s)
        if (s.status === 'connected') {
          setLive({ client: s.client, generation: s.generation, editor: s.editor })
          setPeerStatus((st) => (st === 'failed' ? st : null))
        }
      }),
    [connection],
  )

  useEffect(
    () =>
      shell.subscribe((m) => {
        if (m.kind === 'menu') issue(m.command)
        else if (m.kind === 'open-invite') setInvite({ link: m.link, seq: ++seq.current })
        else if (m.kind === 'open-document') setOpenDoc({ docId: m.docId, seq: ++seq.current })
        else setPeerStatus(m.status === 'ready' ? null : m.status)
      }),
    [shell, issue],
  )

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const name = shortcutFor(e)
      if (!name) return
      e.preventDefault()
      issue(name)
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [issue])

  // If no peer answers for a while, say what may be wrong instead of spinning forever.
  useEffect(() => {
    if (live) return
    const t = setTimeout(() => setSlow(true), 5000)
    return () => clearTimeout(t)
  }, [live])

  const banner =
    peerStatus === 'restarting' ? (
      <Banner tone="warn">
        The Grapevine peer stopped unexpectedly and is restarting. Your edits are kept and will be saved when it is back.
      </Banner>
    ) : peerStatus === 'failed' ? (
      <Banner tone="warn">
        The Grapevine peer could not start. Quit and reopen Grapevine; if it happens again, the log file says why.
      </Banner>
    ) : conn.status === 'lost' ? (
      <Banner tone="warn">
        Lost the connection to the Grapevine peer. {conn.retryInMs !== null ? 'Reconnecting…' : 'Waiting for it to come back…'} Your edits
        are kept and will be saved when it is back.
      </Banner>
    ) : null

  return (
    <>
      {banner}
      {live ? (
        <ConnectedContext.Provider value={conn.status === 'connected'}>
          <App
            key={live.generation}
            client={live.client}
            editor={live.editor}
            command={command}
            invite={invite}
            openDoc={openDoc}
            onInviteTaken={inviteTaken}
            onOpenDocTaken={openDocTaken}
          />
        </ConnectedContext.Provider>
      ) : (
        <main className="splash" aria-busy="true">
          <Progress
            label={peerStatus === 'starting' ? 'Starting the Grapevine peer…' : 'Connecting to the Grapevine peer…'}
            delayMs={200}
          />
          {slow && conn.status === 'connecting' && conn.kind === 'electron' && (
            <p className="muted">
              No peer has answered. If you opened this page in a browser, use the full address the peer printed (it ends in{' '}
              <code>?token=…</code>).
            </p>
          )}
        </main>
      )}
    </>
  )
}
