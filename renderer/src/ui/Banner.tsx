/** A strip across the top for the state of the connection to the peer. */
import type { ReactNode } from 'react'

export function Banner({ tone, children }: { tone: 'info' | 'warn'; children: ReactNode }) {
  return (
    <div className={`banner ${tone}`} role={tone === 'warn' ? 'alert' : 'status'} data-testid="banner">
      {children}
    </div>
  )
}
