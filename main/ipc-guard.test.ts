/** IPC from anything but the main frame of our own window, showing our own page, is dropped. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { guardIpc, refuseSender } from './ipc-guard.ts'

const ourWindow = {}
const strangerWindow = {}
const ourContents = {}
const strangerContents = {}
const check = {
  windowOf: (sender: object) => (sender === ourContents ? ourWindow : sender === strangerContents ? strangerWindow : null),
  isOwnWindow: (w: object) => w === ourWindow,
}
const event = (sender: object, url: string | null, parent: unknown = null) => ({
  sender,
  senderFrame: url === null ? null : { url, parent },
})

test('our main frame on our page is accepted', () => {
  assert.equal(refuseSender(event(ourContents, 'app://grapevine/index.html'), check), null)
})

test('every other sender is refused, with the reason', () => {
  assert.match(refuseSender(event(ourContents, null), check)!, /gone/)
  assert.match(refuseSender(event(ourContents, 'app://grapevine/index.html', {}), check)!, /subframe/)
  assert.match(refuseSender(event(ourContents, 'https://evil.example/'), check)!, /not ours/)
  assert.match(refuseSender(event(ourContents, 'file:///tmp/x.html'), check)!, /not ours/)
  assert.match(refuseSender(event(strangerContents, 'app://grapevine/index.html'), check)!, /not one of our windows/)
  assert.match(refuseSender(event({}, 'app://grapevine/index.html'), check)!, /not one of our windows/)
})

test('a guarded handler runs only for accepted senders; refusals are logged', () => {
  const handled: unknown[] = []
  const logged: string[] = []
  const on = guardIpc(
    'grapevine:hello',
    check,
    (m) => logged.push(m),
    (_e, arg: unknown) => handled.push(arg),
  )
  on(event(ourContents, 'app://grapevine/index.html'), 1)
  on(event(strangerContents, 'app://grapevine/index.html'), 2)
  on(event(ourContents, 'https://evil.example/'), 3)
  on(event(ourContents, null), 4)
  assert.deepEqual(handled, [1])
  assert.equal(logged.length, 3)
  assert.match(logged[0]!, /dropped IPC "grapevine:hello"/)
})
