/** automerge-repo's DocHandle as a TextPeer: one `handle.change` per keystroke, as its editor bindings do. */
import * as A from '@automerge/automerge'
import type { DocHandle } from '@automerge/automerge-repo'
import type { TextPeer } from './text-peer.ts'

export interface AmDoc {
  text: string
}

export function amTextPeer(handle: DocHandle<AmDoc>): TextPeer {
  return {
    splice(pos, del, text) {
      handle.change((d) => {
        A.splice(d, ['text'], pos, del, text)
      })
    },
    frame(fn) {
      handle.change((d) =>
        fn((pos, del, text) => {
          A.splice(d, ['text'], pos, del, text)
        }),
      )
    },
    length: () => handle.doc()?.text?.length ?? 0,
    text: () => handle.doc()?.text ?? '',
    onRemote(cb) {
      // `change` fires for local edits too; the recorder only counts new length, so that is harmless.
      handle.on('change', () => cb())
    },
  }
}
