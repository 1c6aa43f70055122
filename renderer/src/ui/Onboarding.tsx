/** First run: choose your name, then start a workspace or join one with an invite. */
import { useState, type FormEvent } from 'react'
import { MAX_NAME_CHARS } from '../../../shared/limits.ts'
import type { DeviceInfo, WorkspaceInfo } from '../../../shared/types.ts'
import { useClient, useSession } from '../data/client-context.tsx'
import { useAction } from '../data/hooks.ts'
import { ErrorText } from './ErrorText.tsx'
import { JoinFlow } from './JoinFlow.tsx'
import { NameForm } from './NameForm.tsx'
import { Progress } from './Progress.tsx'

export interface OnboardingProps {
  invite: string | null
  onNamed: (me: DeviceInfo) => void
  onReady: (ws: WorkspaceInfo) => void
}

export function Onboarding({ invite, onNamed, onReady }: OnboardingProps) {
  const { self } = useSession()
  const [step, setStep] = useState<'name' | 'start'>('name')
  return (
    <main className="onboarding" data-testid="onboarding">
      <div className="onboarding-card">
        <h1>Welcome to Grapevine</h1>
        <p className="muted">Write and plan together, straight between your team’s computers. No server, works offline.</p>
        {step === 'name' ? (
          <section aria-labelledby="step-name">
            <h2 id="step-name">What should teammates call you?</h2>
            <NameForm
              initial={self.name}
              submitLabel="Continue"
              onDone={(me) => {
                onNamed(me)
                setStep('start')
              }}
            />
          </section>
        ) : (
          <div className="choices">
            <section aria-labelledby="step-create" className="choice">
              <h2 id="step-create">Start a workspace</h2>
              <CreateWorkspaceForm onCreated={onReady} />
            </section>
            <section aria-labelledby="step-join" className="choice">
              <h2 id="step-join">Join with an invite</h2>
              <JoinFlow initialCode={invite ?? undefined} onJoined={onReady} />
            </section>
          </div>
        )}
      </div>
    </main>
  )
}

export function CreateWorkspaceForm({ onCreated }: { onCreated: (ws: WorkspaceInfo) => void }) {
  const client = useClient()
  const [name, setName] = useState('')
  const create = useAction(async (n: string) => client.request('workspace.create', { name: n }))
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    const ws = await create.run(name.trim())
    if (ws) onCreated(ws)
  }
  return (
    <form className="stack" onSubmit={submit} data-testid="create-workspace-form">
      <label className="field">
        <span>Workspace name</span>
        <input
          value={name}
          maxLength={MAX_NAME_CHARS}
          required
          placeholder="e.g. Studio"
          onChange={(e) => setName(e.target.value)}
          data-testid="workspace-name-input"
        />
      </label>
      <div className="row">
        <button type="submit" className="primary" disabled={!name.trim() || create.busy}>
          Create workspace
        </button>
        <Progress label="Creating…" busy={create.busy} />
      </div>
      <ErrorText error={create.error} />
    </form>
  )
}
