/** A read-only value with a Copy button (invite codes and links, addresses). */
import { useId, useState } from 'react'

export function CopyField({ label, value, testId, multiline }: { label: string; value: string; testId?: string; multiline?: boolean }) {
  const [copied, setCopied] = useState(false)
  const id = useId()
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(value)
      setCopied(true)
      setTimeout(() => setCopied(false), 1500)
    } catch {
      setCopied(false)
    }
  }
  return (
    <div className="copy-field">
      <label className="field" htmlFor={id}>
        <span>{label}</span>
        {multiline ? (
          <textarea id={id} readOnly value={value} rows={3} data-testid={testId} onFocus={(e) => e.target.select()} spellCheck={false} />
        ) : (
          <input id={id} readOnly value={value} data-testid={testId} onFocus={(e) => e.target.select()} spellCheck={false} />
        )}
      </label>
      <button type="button" className="small" onClick={() => void copy()} aria-label={`Copy ${label.toLowerCase()}`}>
        {copied ? 'Copied' : 'Copy'}
      </button>
      <span className="visually-hidden" role="status">
        {copied ? `${label} copied` : ''}
      </span>
    </div>
  )
}
