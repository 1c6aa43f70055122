/** Choose the name teammates see (`identity.setName`). */
import { useState, type FormEvent } from 'react'
import { MAX_NAME_CHARS } from '../../../shared/limits.ts'
import type { DeviceInfo } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { useAction } from '../data/hooks.ts'
import { ErrorText } from './ErrorText.tsx'
import { Progress } from './Progress.tsx'

export function NameForm({ initial, submitLabel, onDone }: { initial: string; submitLabel: string; onDone: (me: DeviceInfo) => void }) {
  const client = useClient()
  const [name, setName] = useState(initial)
  const save = useAction(async (n: string) => client.request('identity.setName', { name: n }))
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    const me = await save.run(name.trim())
    if (me) onDone(me)
  }
  return (
    <form className="stack" onSubmit={submit} data-testid="name-form">
      <label className="field">
        <span>Your name, as teammates will see it</span>
        <input
          name="name"
          value={name}
          maxLength={MAX_NAME_CHARS}
          required
          autoComplete="name"
          // biome-ignore lint/a11y/noAutofocus: the first-run step and the name dialog exist only to type this name; keyboard users start typing at once
          autoFocus
          onChange={(e) => setName(e.target.value)}
          data-testid="name-input"
        />
      </label>
      <div className="row">
        <button type="submit" className="primary" disabled={!name.trim() || save.busy}>
          {submitLabel}
        </button>
        <Progress label="Saving…" busy={save.busy} />
      </div>
      <ErrorText error={save.error} />
    </form>
  )
}
