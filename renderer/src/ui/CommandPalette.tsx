/** Ctrl/Cmd+K: every action and every document, filtered fuzzily as you type. */
import { useState } from 'react'
import { fuzzyFilter } from '../lib/fuzzy.ts'
import { useComboList } from './combo-list.ts'
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
  const shown = fuzzyFilter(items, query, (i) => `${i.label} ${i.group === 'Documents' ? '' : i.group}`).slice(0, 60)
  const choose = (item: PaletteItem | undefined): void => {
    if (!item) return
    onClose()
    // After the palette has closed, so that a dialog the action opens keeps the focus.
    setTimeout(item.run, 0)
  }
  const list = useComboList(shown, choose)
  return (
    <Dialog title="Command palette" hideTitle onClose={onClose} testId="command-palette" className="palette">
      <input
        className="palette-input"
        data-autofocus
        {...list.inputProps}
        aria-label="Type a command or a document title"
        placeholder="Type a command or a document title…"
        value={query}
        data-testid="palette-input"
        onChange={(e) => {
          setQuery(e.target.value)
          list.setActive(0)
        }}
      />
      <div id={list.listId} role="listbox" aria-label="Matches" className="palette-list">
        {shown.map((item, i) => (
          // biome-ignore lint/a11y/useKeyWithClickEvents lint/a11y/useFocusableInteractive: aria-activedescendant combobox: focus stays in the input, whose onKeyDown moves (arrows) and chooses (Enter) the active option
          <div
            key={item.id}
            id={list.optionId(i)}
            role="option"
            aria-selected={i === list.current}
            className="palette-item"
            onMouseMove={() => list.setActive(i)}
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
