/**
 * The list behind a combobox input (the command palette, search): which option is active, the arrow
 * keys and Enter in the input, the ids that tie the input to its options (aria-activedescendant: focus
 * stays in the input), and the active option kept in view.
 */
import { useEffect, useId, useState, type KeyboardEvent } from 'react'

export function useComboList<T>(items: readonly T[], choose: (item: T | undefined) => void) {
  const [active, setActive] = useState(0)
  const listId = useId()
  const current = Math.min(active, Math.max(0, items.length - 1))
  const optionId = (i: number): string => `${listId}-opt-${i}`
  const activeId = items.length ? optionId(current) : undefined

  // Keep the active option in view as the arrow keys move it.
  useEffect(() => {
    if (activeId) document.getElementById(activeId)?.scrollIntoView({ block: 'nearest' })
  }, [activeId])

  const onKeyDown = (e: KeyboardEvent): void => {
    const move = (to: number): void => {
      e.preventDefault()
      setActive((to + items.length) % Math.max(1, items.length))
    }
    if (e.key === 'ArrowDown') move(current + 1)
    else if (e.key === 'ArrowUp') move(current - 1)
    else if (e.key === 'Home' && e.ctrlKey) move(0)
    else if (e.key === 'End' && e.ctrlKey) move(items.length - 1)
    else if (e.key === 'Enter') {
      e.preventDefault()
      choose(items[current])
    }
  }

  return {
    listId,
    current,
    setActive,
    optionId,
    /** Spread on the input. */
    inputProps: {
      role: 'combobox',
      'aria-expanded': true,
      'aria-controls': listId,
      'aria-autocomplete': 'list',
      'aria-activedescendant': activeId,
      onKeyDown,
    } as const,
  }
}
