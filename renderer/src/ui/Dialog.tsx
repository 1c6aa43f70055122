/**
 * A modal dialog on the native <dialog> element: it traps focus, closes on Esc, and is announced
 * with its title. Mount it to open it; `onClose` runs on Esc, the close button or the backdrop.
 * Focus starts on the element marked `data-autofocus`, else the first editable field.
 */
import { useEffect, useId, useRef, type ReactNode } from 'react'

export interface DialogProps {
  title: string
  onClose: () => void
  children: ReactNode
  testId?: string
  className?: string
  /** Hide the visible heading (it still names the dialog for assistive technology). */
  hideTitle?: boolean
}

export function Dialog({ title, onClose, children, testId, className, hideTitle }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const onCloseRef = useRef(onClose)
  onCloseRef.current = onClose

  useEffect(() => {
    const d = ref.current!
    const previous = document.activeElement as HTMLElement | null
    if (!d.open) d.showModal()
    // showModal focuses the first focusable element (the Close button); a field is more useful.
    d.querySelector<HTMLElement>('[data-autofocus], input:not([readonly]), textarea:not([readonly]), select')?.focus()
    const close = (): void => onCloseRef.current()
    d.addEventListener('close', close)
    return () => {
      d.removeEventListener('close', close)
      const inside = d.contains(document.activeElement) || document.activeElement === document.body
      if (d.open) d.close()
      // Give focus back to where it was, unless something else (another dialog) has taken it.
      if (inside) previous?.focus?.()
    }
  }, [])

  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: a click on the backdrop is the mouse's Escape; keyboard users have Escape (the native dialog's cancel, then 'close' above) and the Close button
    <dialog
      ref={ref}
      className={`dialog ${className ?? ''}`}
      aria-labelledby={titleId}
      data-testid={testId}
      onClick={(e) => {
        if (e.target === ref.current) onClose()
      }}
    >
      <div className="dialog-inner">
        <div className="dialog-head">
          <h2 id={titleId} className={hideTitle ? 'visually-hidden' : undefined}>
            {title}
          </h2>
          <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
            <span aria-hidden="true">×</span>
          </button>
        </div>
        {children}
      </div>
    </dialog>
  )
}
