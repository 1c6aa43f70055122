/** Bytes on disk of a file or folder (apparent sizes, recursively). */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export function du(path: string): number {
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(path)
  } catch {
    return 0
  }
  if (!st.isDirectory()) return st.size
  return readdirSync(path).reduce((n, e) => n + du(join(path, e)), 0)
}
