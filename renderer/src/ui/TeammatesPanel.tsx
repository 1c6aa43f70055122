/** Who is in the workspace: online now, which document they are in, last seen, their local time. */
import type { DocumentSummary, MemberInfo, PresenceInfo } from '../../../shared/types.ts'
import { useNow } from '../data/hooks.ts'
import { colourFor, initials } from '../lib/colour.ts'
import { ago, theirLocalTime, utcOffsetLabel } from '../lib/format.ts'
import { knownOffset } from '../lib/offsets.ts'
import { displayTitle } from './Sidebar.tsx'

export interface TeammatesPanelProps {
  members: MemberInfo[] | undefined
  presence: ReadonlyMap<string, PresenceInfo>
  docs: DocumentSummary[] | undefined
  onOpenDoc: (docId: string) => void
}

export function TeammatesPanel({ members, presence, docs, onOpenDoc }: TeammatesPanelProps) {
  const now = useNow(20_000)
  const titles = new Map((docs ?? []).map((d) => [d.id, displayTitle(d.title)]))
  const sorted = [...(members ?? [])].sort(
    (a, b) => Number(b.self) - Number(a.self) || Number(b.online) - Number(a.online) || a.name.localeCompare(b.name),
  )
  return (
    <aside className="teammates" aria-labelledby="teammates-title" data-testid="teammates">
      <h2 id="teammates-title" className="panel-title">
        Teammates
      </h2>
      <ul className="member-list">
        {sorted.map((m) => {
          const p = presence.get(m.deviceId)
          const docId = p?.docId ?? null
          const offset = p?.utcOffsetMinutes ?? knownOffset(m.deviceId)
          return (
            <li key={m.deviceId} className="member" data-testid="teammate" data-device={m.deviceId} data-online={m.online}>
              <span className="avatar" style={{ backgroundColor: colourFor(m.deviceId) }} aria-hidden="true">
                {initials(m.name)}
              </span>
              <div className="member-body">
                <div className="member-name">
                  {m.name}
                  {m.self && <span className="muted"> (you)</span>}
                  <span className={`presence-dot ${m.online ? 'on' : 'off'}`} role="img" aria-label={m.online ? 'online' : 'offline'} />
                </div>
                <div className="member-meta muted">
                  {m.self ? m.role : m.online ? 'Online now' : `Last seen ${ago(m.lastSeen, now)}`}
                  {!m.self && offset !== null && (
                    <span title={utcOffsetLabel(offset)} data-testid="teammate-time">
                      {' '}
                      · {theirLocalTime(offset, now)} their time
                    </span>
                  )}
                </div>
                {!m.self && docId && m.online && (
                  <button type="button" className="link-button member-doc" onClick={() => onOpenDoc(docId)} data-testid="teammate-doc">
                    In “{titles.get(docId) ?? 'a document'}”
                  </button>
                )}
              </div>
            </li>
          )
        })}
      </ul>
    </aside>
  )
}
