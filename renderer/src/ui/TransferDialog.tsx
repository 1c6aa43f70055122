/**
 * Export a workspace (a .zip of Markdown files and workspace.json) and import Markdown files (a folder
 * or files a person picks), each with its progress: a workspace can hold thousands of documents.
 */
import { useState } from 'react'
import { ImportError } from '../../../shared/markdown-export.ts'
import { GrapevineError } from '../../../shared/protocol.ts'
import type { WorkspaceInfo } from '../../../shared/types.ts'
import { useClient } from '../data/client-context.tsx'
import { download, exportWorkspace, planImport, runImport } from '../lib/transfer.ts'
import { Dialog } from './Dialog.tsx'
import { ErrorText } from './ErrorText.tsx'

type Step = { kind: 'idle' } | { kind: 'running'; done: number; total: number } | { kind: 'done'; text: string }

function ProgressBar({ done, total, verb }: { done: number; total: number; verb: string }) {
  return (
    <div className="transfer-progress" role="status" aria-live="polite" data-testid="transfer-progress">
      <progress max={Math.max(1, total)} value={done} />
      <span>
        {verb} {done} of {total}…
      </span>
    </div>
  )
}

/** The progress, the outcome and the one button of a transfer: start it, then Done. */
function TransferSteps(p: {
  step: Step
  error: unknown
  verb: string
  /** `export` or `import`: the test ids of the outcome and the button. */
  name: string
  label: string
  disabled: boolean
  onStart: () => void
  onClose: () => void
}) {
  const { step } = p
  return (
    <>
      {step.kind === 'running' && <ProgressBar done={step.done} total={step.total} verb={p.verb} />}
      {step.kind === 'done' && (
        <p role="status" data-testid={`${p.name}-done`}>
          {step.text}
        </p>
      )}
      <ErrorText error={p.error} />
      <div className="row end">
        {step.kind === 'done' ? (
          <button type="button" className="primary" onClick={p.onClose}>
            Done
          </button>
        ) : (
          <button
            type="button"
            className="primary"
            disabled={p.disabled || step.kind === 'running'}
            onClick={p.onStart}
            data-testid={`${p.name}-start`}
          >
            {p.label}
          </button>
        )}
      </div>
    </>
  )
}

export function ExportDialog({ workspace, documents, onClose }: { workspace: WorkspaceInfo; documents: number; onClose: () => void }) {
  const client = useClient()
  const [step, setStep] = useState<Step>({ kind: 'idle' })
  const [error, setError] = useState<unknown>(null)
  const start = async (): Promise<void> => {
    setError(null)
    setStep({ kind: 'running', done: 0, total: documents })
    try {
      const out = await exportWorkspace(client, workspace, (done, total) => setStep({ kind: 'running', done, total }))
      download(out.name, out.blob)
      setStep({ kind: 'done', text: `Saved ${out.name}: ${out.documents === 1 ? '1 document' : `${out.documents} documents`}.` })
    } catch (err) {
      setError(err)
      setStep({ kind: 'idle' })
    }
  }
  return (
    <Dialog title={`Export “${workspace.name}”`} onClose={onClose} testId="export-dialog">
      <p className="muted">
        Every document of this workspace as a Markdown file, with <code>workspace.json</code> (titles and dates), in one .zip. Unzipped, the
        folder imports back here or with <code>grapevine-peer import</code>.
      </p>
      <TransferSteps
        step={step}
        error={error}
        verb="Reading"
        name="export"
        label={`Export ${documents === 1 ? '1 document' : `${documents} documents`}`}
        disabled={false}
        onStart={() => void start()}
        onClose={onClose}
      />
    </Dialog>
  )
}

export function ImportDialog({
  workspace,
  onClose,
  onImported,
}: {
  workspace: WorkspaceInfo
  onClose: () => void
  onImported: () => void
}) {
  const client = useClient()
  const [plan, setPlan] = useState<Awaited<ReturnType<typeof planImport>> | null>(null)
  const [step, setStep] = useState<Step>({ kind: 'idle' })
  const [error, setError] = useState<unknown>(null)

  const pick = async (list: FileList | null): Promise<void> => {
    setError(null)
    setStep({ kind: 'idle' })
    setPlan(null)
    if (!list?.length) return
    try {
      setPlan(await planImport([...list]))
    } catch (err) {
      // What is wrong with the files picked, in words: the file and the reason.
      setError(err instanceof ImportError ? new GrapevineError('bad-request', err.message) : err)
    }
  }
  const start = async (): Promise<void> => {
    if (!plan) return
    setError(null)
    try {
      const ids = await runImport(client, workspace.id, plan, (done, total) => setStep({ kind: 'running', done, total }))
      setStep({ kind: 'done', text: `Imported ${ids.length === 1 ? '1 document' : `${ids.length} documents`} into “${workspace.name}”.` })
      onImported()
    } catch (err) {
      // What was created stays; the error says what stopped the rest.
      setError(err)
      setStep({ kind: 'idle' })
      onImported()
    }
  }
  // Boards (from an exported folder's workspace.json) are documents too.
  const count = (plan?.items.length ?? 0) + (plan?.boards.length ?? 0)
  return (
    <Dialog title={`Import into “${workspace.name}”`} onClose={onClose} testId="import-dialog">
      <p className="muted">
        A document for every Markdown file (.md). A folder exported from Grapevine keeps its titles (<code>workspace.json</code>); other
        documents take the file’s name.
      </p>
      <div className="transfer-pick">
        <label className="button">
          Choose a folder…
          <input
            type="file"
            className="visually-hidden"
            // Chromium's folder picker: every file below the folder, each with its path in it.
            {...{ webkitdirectory: '' }}
            onChange={(e) => void pick(e.target.files)}
            data-testid="import-folder"
          />
        </label>
        <label className="button">
          Choose files…
          <input
            type="file"
            multiple
            accept=".md,.markdown,text/markdown"
            className="visually-hidden"
            onChange={(e) => void pick(e.target.files)}
            data-testid="import-files"
          />
        </label>
      </div>
      {plan && step.kind === 'idle' && (
        <div data-testid="import-plan">
          <p>
            {count === 0 ? 'No Markdown file here.' : count === 1 ? '1 document to import:' : `${count} documents to import:`}
            {plan.skipped.length > 0 && (
              <span className="muted"> ({plan.skipped.length === 1 ? '1 other file' : `${plan.skipped.length} other files`} left out)</span>
            )}
          </p>
          <ul className="transfer-list">
            {[
              ...plan.items.map((i) => ({ key: i.file, title: i.title })),
              ...plan.boards.map((b, n) => ({ key: `board ${n}`, title: b.title })),
            ]
              .slice(0, 8)
              .map((i) => (
                <li key={i.key}>{i.title || 'Untitled'}</li>
              ))}
            {count > 8 && <li className="muted">and {count - 8} more</li>}
          </ul>
        </div>
      )}
      <TransferSteps
        step={step}
        error={error}
        verb="Creating"
        name="import"
        label={`Import ${count === 1 ? '1 document' : `${count} documents`}`}
        disabled={!count}
        onStart={() => void start()}
        onClose={onClose}
      />
    </Dialog>
  )
}
