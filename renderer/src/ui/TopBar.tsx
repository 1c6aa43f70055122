/** The bar across the top: workspace switcher and settings, commands, invite, network, teammates, you. */
import type { DeviceInfo, WorkspaceInfo } from '../../../shared/types.ts'
import { colourFor, initials } from '../lib/colour.ts'
import { shortcutLabel } from '../lib/platform.ts'

export interface TopBarProps {
  workspace: WorkspaceInfo
  workspaces: WorkspaceInfo[]
  self: DeviceInfo
  canInvite: boolean
  showTeammates: boolean
  onSwitch: (workspaceId: string) => void
  onPalette: () => void
  onInvite: () => void
  onNetwork: () => void
  /** The workspace's own dialog: its facts, and leaving it. */
  onWorkspace: () => void
  onToggleTeammates: () => void
}

/** A bunch of grapes, drawn (an emoji would depend on the system's fonts). */
function Logo() {
  return (
    <svg className="brand" width="22" height="22" viewBox="0 0 24 24" aria-hidden="true">
      <path d="M12 2c1 1.5 1.2 3 .6 4.5" stroke="var(--ok)" strokeWidth="1.6" fill="none" strokeLinecap="round" />
      {[
        [8, 9],
        [12, 9],
        [16, 9],
        [10, 13],
        [14, 13],
        [12, 17],
      ].map(([x, y]) => (
        <circle key={`${x},${y}`} cx={x} cy={y} r="2.6" fill="var(--accent)" />
      ))}
    </svg>
  )
}

export function TopBar(p: TopBarProps) {
  return (
    <header className="topbar">
      <Logo />
      {p.workspaces.length > 1 ? (
        <label className="ws-switch">
          <span className="visually-hidden">Workspace</span>
          <select value={p.workspace.id} onChange={(e) => p.onSwitch(e.target.value)} data-testid="workspace-switch">
            {p.workspaces.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <span className="ws-name" data-testid="workspace-name">
          {p.workspace.name}
        </span>
      )}
      <button
        type="button"
        className="icon-button ws-settings"
        aria-label={`${p.workspace.name} settings`}
        title={`${p.workspace.name}: your role, the owner, leaving`}
        onClick={p.onWorkspace}
        data-testid="workspace-settings"
      >
        <span aria-hidden="true">⚙</span>
      </button>
      <button type="button" className="search" onClick={p.onPalette} aria-keyshortcuts="Control+K Meta+K" data-testid="open-palette">
        <span aria-hidden="true">⌕</span> Search and commands <kbd>{shortcutLabel('Mod+K')}</kbd>
      </button>
      <span className="grow" />
      {p.canInvite && (
        <button type="button" onClick={p.onInvite} aria-keyshortcuts="Control+Shift+I Meta+Shift+I" data-testid="invite-button">
          Invite
        </button>
      )}
      <button type="button" onClick={p.onNetwork} data-testid="network-button">
        Network
      </button>
      <button type="button" aria-pressed={p.showTeammates} onClick={p.onToggleTeammates} data-testid="teammates-toggle">
        Teammates
      </button>
      <span className="me" title={`You: ${p.self.name}`}>
        <span className="avatar" style={{ backgroundColor: colourFor(p.self.deviceId) }} aria-hidden="true">
          {initials(p.self.name)}
        </span>
        <span className="visually-hidden">Signed in on this device as {p.self.name}</span>
      </span>
    </header>
  )
}
