/** A spinner with words, announced politely; shown only for what takes more than a moment. */
import { useDelayed } from '../data/hooks.ts'

export function Progress({ label, busy = true, delayMs = 300 }: { label: string; busy?: boolean; delayMs?: number }) {
  const shown = useDelayed(busy, delayMs)
  if (!shown) return null
  return (
    <span className="progress" role="status" aria-live="polite" data-testid="progress">
      <span className="spinner" aria-hidden="true" />
      {label}
    </span>
  )
}
