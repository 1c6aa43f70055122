/** The document's title, editable in place; saved with `doc.rename` on Enter or when focus leaves. */
import { memo, useEffect, useRef, useState, type KeyboardEvent } from 'react'
import { MAX_TITLE_CHARS } from '../../../shared/limits.ts'

export interface TitleFieldProps {
  title: string
  readOnly: boolean
  onRename: (title: string) => Promise<void>
  /** Focus and select it (a new document). */
  focusNow?: boolean
  onEnter?: () => void
}

/**
 * A memo component: the document view re-renders with sync status and presence while teammates type,
 * and React updates an input's attributes each time it renders it.
 */
export const TitleField = memo(function TitleField({ title, readOnly, onRename, focusNow, onEnter }: TitleFieldProps) {
  const [value, setValue] = useState(title)
  const editing = useRef(false)
  const input = useRef<HTMLInputElement>(null)

  // A teammate's rename shows at once, unless this user is typing a title of their own.
  useEffect(() => {
    if (!editing.current) setValue(title)
  }, [title])
  useEffect(() => {
    if (focusNow) {
      input.current?.focus()
      input.current?.select()
    }
  }, [focusNow])

  const commit = async (): Promise<void> => {
    if (!editing.current) return
    editing.current = false
    const next = value.trim()
    if (next !== title) await onRename(next)
  }
  const onKey = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (e.key === 'Enter') {
      e.preventDefault()
      void commit()
      onEnter?.()
    } else if (e.key === 'Escape') {
      e.preventDefault()
      e.stopPropagation()
      editing.current = false
      setValue(title)
      input.current?.blur()
    }
  }
  return (
    <input
      ref={input}
      className="title-input"
      aria-label="Document title"
      placeholder="Untitled"
      value={value}
      maxLength={MAX_TITLE_CHARS}
      readOnly={readOnly}
      onFocus={() => {
        editing.current = true
      }}
      onChange={(e) => setValue(e.target.value)}
      onBlur={() => void commit()}
      onKeyDown={onKey}
      data-testid="doc-title-input"
    />
  )
})
