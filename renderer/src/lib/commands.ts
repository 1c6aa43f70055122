/** Commands that shortcuts and the app menu can trigger, and the shortcut for a key press. */
import type { MenuCommand } from '../shell-messages.ts'

export type CommandName = MenuCommand

export interface KeyLike {
  key: string
  ctrlKey: boolean
  metaKey: boolean
  shiftKey: boolean
  altKey: boolean
}

/** Ctrl on Windows and Linux, Cmd on macOS (either is accepted everywhere). */
export function shortcutFor(e: KeyLike): CommandName | null {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return null
  const key = e.key.toLowerCase()
  if (key === 'k' && !e.shiftKey) return 'command-palette'
  if (key === 'n' && !e.shiftKey) return 'new-document'
  if (key === 'i' && e.shiftKey) return 'invite'
  if (key === 'f' && e.shiftKey) return 'search'
  if (key === 'h' && e.shiftKey) return 'history'
  return null
}

/** Sent on `window` to open the find panel of the editor on screen (the app menu's Find, in the desktop app). */
export const FIND_EVENT = 'grapevine:find'

/** Sent on `window` to open or close the history of the document on screen. */
export const HISTORY_EVENT = 'grapevine:history'
