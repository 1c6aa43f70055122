/** The network as this peer sees it: its own id and addresses, and every peer it knows. */
import { useState, type FormEvent } from 'react'
import { useClient } from '../data/client-context.tsx'
import { useAction, useNow, usePeerQuery } from '../data/hooks.ts'
import { ago } from '../lib/format.ts'
import { reachText } from '../../../shared/reach-text.ts'
import { CopyField } from './CopyField.tsx'
import { Dialog } from './Dialog.tsx'
import { ErrorText } from './ErrorText.tsx'
import { Progress } from './Progress.tsx'

export function NetworkDialog({ onClose }: { onClose: () => void }) {
  const client = useClient()
  const now = useNow(10_000)
  const info = usePeerQuery(() => client.request('network.info', {}), [], { refreshOn: (e) => e.type === 'peer.list', everyMs: 10_000 })
  const peers = usePeerQuery(() => client.request('peer.list', {}), [], { refreshOn: (e) => e.type === 'peer.list', everyMs: 10_000 })
  const [address, setAddress] = useState('')
  const dial = useAction(async (a: string) => client.request('peer.dial', { address: a }))
  const connect = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    if (await dial.run(address.trim())) {
      setAddress('')
      peers.reload()
    }
  }
  const list = [...(peers.data ?? [])].sort((a, b) => Number(b.online) - Number(a.online) || Number(b.member) - Number(a.member))
  return (
    <Dialog title="Network" onClose={onClose} testId="network-dialog" className="wide">
      <section aria-labelledby="net-self">
        <h3 id="net-self">This device</h3>
        {info.data ? (
          <>
            <CopyField label="Peer id" value={info.data.peerId} testId="network-peer-id" />
            <p className="muted">
              {info.data.connections} open connection{info.data.connections === 1 ? '' : 's'}. Listening on:
            </p>
            <ul className="addresses" data-testid="listen-addresses">
              {info.data.listenAddresses.map((a) => (
                <li key={a}>
                  <code>{a}</code>
                </li>
              ))}
            </ul>
            <p data-testid="reachability">{info.data.reachability.text}</p>
            {info.data.portMapping.state !== 'off' && info.data.portMapping.state !== 'not-needed' && (
              <p className="muted" data-testid="port-mapping">
                {info.data.portMapping.text}
              </p>
            )}
          </>
        ) : (
          <Progress label="Loading…" busy={info.loading} />
        )}
        <ErrorText error={info.error} />
      </section>
      <section aria-labelledby="net-peers">
        <h3 id="net-peers">Peers</h3>
        {peers.data && list.length === 0 && (
          <p className="muted">No peers known yet. Teammates on your network appear here when they are online.</p>
        )}
        {list.length > 0 && (
          <table className="peers" data-testid="peer-table">
            <thead>
              <tr>
                <th scope="col">Peer</th>
                <th scope="col">State</th>
                <th scope="col">How</th>
                <th scope="col">Addresses</th>
                <th scope="col">Last seen</th>
                <th scope="col">Last synced</th>
              </tr>
            </thead>
            <tbody>
              {list.map((p) => (
                <tr key={p.peerId} data-testid="peer-row" data-online={p.online}>
                  <td>
                    <div>{p.name ?? (p.member ? 'Teammate' : 'Not a teammate')}</div>
                    <code className="muted" title={p.peerId}>
                      …{p.peerId.slice(-10)}
                    </code>
                  </td>
                  <td>
                    <span className={`presence-dot ${p.online ? 'on' : 'off'}`} aria-hidden="true" /> {p.online ? 'Connected' : 'Offline'}
                  </td>
                  <td data-testid="peer-reach">
                    <div>{reachText(p)}</div>
                    {p.unreachable ? <div className="muted">{p.unreachable}</div> : null}
                    {p.behindCount ? (
                      <div className="muted" title={p.behind.map((d) => d.title || 'Untitled').join('\n')}>
                        Lacks {p.behindCount} document{p.behindCount === 1 ? '' : 's'}
                      </div>
                    ) : null}
                  </td>
                  <td>
                    {p.addresses.length ? (
                      p.addresses.map((a) => (
                        <div key={a}>
                          <code>{a}</code>
                        </div>
                      ))
                    ) : (
                      <span className="muted">none known</span>
                    )}
                  </td>
                  <td>{ago(p.lastSeen, now)}</td>
                  <td>{ago(p.lastSyncAt, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <ErrorText error={peers.error} />
      </section>
      <form className="row" onSubmit={connect}>
        <label className="field grow">
          <span>Connect to an address</span>
          <input
            value={address}
            onChange={(e) => setAddress(e.target.value)}
            placeholder="/ip4/192.168.1.20/tcp/4001/p2p/12D3Koo…"
            spellCheck={false}
          />
        </label>
        <button type="submit" disabled={!address.trim() || dial.busy}>
          Connect
        </button>
        <Progress label="Connecting…" busy={dial.busy} />
      </form>
      <ErrorText error={dial.error} />
    </Dialog>
  )
}
