/** Ctrl/Cmd+K: every action and every document, filtered fuzzily as you type. */
import { useEffect, useId, useState, type KeyboardEvent } from 'react'
import { fuzzyFilter } from '../lib/fuzzy.ts'
import { Dialog } from './Dialog.tsx'

export interface PaletteItem {
  id: string
  label: string
  group: 'Actions' | 'Documents' | 'Workspaces'
  /** A shortcut or detail shown at the right. */
  hint?: string
  run: () => void
}

export function CommandPalette({ items, onClose }: { items: PaletteItem[]; onClose: () => void }) {
  const [query, setQuery] = useState('')
  const [active, setActive] = useState(0)
  const listId = useId()
  const shown = fuzzyFilter(items, query, (i) => `${i.label} ${i.group === 'Documents' ? '' : i.group}`).slice(0, 60)
  const current = Math.min(active, Math.max(0, shown.length - 1))
  const optionId = (i: number): string => `${listId}-opt-${i}`
  const activeId = shown.length ? optionId(current) : undefined

  // Keep the active option in view as the arrow keys move it.
  useEffect(() => {
    if (activeId) document.getElementById(activeId)?.scrollIntoView({ block: 'nearest' })
  }, [activeId])

  const choose = (item: PaletteItem | undefined): void => {
    if (!item) return
    onClose()
    // After the palette has closed, so that a dialog the action opens keeps the focus.
    setTimeout(item.run, 0)
  }
  const onKey = (e: KeyboardEvent): void => {
    const move = (to: number): void => {
      e.preventDefault()
      setActive((to + shown.length) % Math.max(1, shown.length))
    }
    if (e.key === 'ArrowDown') move(current + 1)
    else if (e.key === 'ArrowUp') move(current - 1)
    else if (e.key === 'Home' && e.ctrlKey) move(0)
    else if (e.key === 'End' && e.ctrlKey) move(shown.length - 1)
    else if (e.key === 'Enter') {
      e.preventDefault()
      choose(shown[current])
    }
  }
  return (
    <Dialog title="Command palette" hideTitle onClose={onClose} testId="command-palette" className="palette">
      <input
        className="palette-input"
        data-autofocus
        role="combobox"
        aria-expanded="true"
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={activeId}
        aria-label="Type a command or a document title"
        placeholder="Type a command or a document title…"
        value={query}
        onKeyDown={onKey}
        data-testid="palette-input"
        onChange={(e) => {
          setQuery(e.target.value)
          setActive(0)
        }}
      />
      <div id={listId} role="listbox" aria-label="Matches" className="palette-list">
        {shown.map((item, i) => (
          // biome-ignore lint/a11y/useKeyWithClickEvents lint/a11y/useFocusableInteractive: aria-activedescendant combobox: focus stays in the input, whose onKey moves (arrows) and chooses (Enter) the active option
          <div
            key={item.id}
            id={optionId(i)}
            role="option"
            aria-selected={i === current}
            className="palette-item"
            onMouseMove={() => setActive(i)}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => choose(item)}
            data-testid="palette-item"
          >
            <span className="palette-group">{item.group === 'Documents' ? 'Open' : item.group === 'Workspaces' ? 'Workspace' : ''}</span>
            <span className="palette-label">{item.label}</span>
            {item.hint && <kbd className="palette-hint">{item.hint}</kbd>}
          </div>
        ))}
      </div>
      {shown.length === 0 && <p className="palette-empty muted">Nothing matches “{query}”.</p>}
    </Dialog>
  )
}
