import { useState } from 'preact/hooks';
import { api, ROUTES, type ConnectorList, type DeadLetterList } from '../api.ts';
import { Empty, ErrorBox, Loaded, Pager, fmtNumber, fmtTime, useAction, useLoad } from '../ui.tsx';

const PAGE = 25;
const STATE_HELP: Record<string, string> = {
  up: 'connected',
  starting: 'starting',
  reconnecting: 'reconnecting: Parley retries on its own; check the server it connects to if this lasts',
  down: 'down: check the connector’s server and Parley’s log',
  stopped: 'stopped',
};

export function Connectors() {
  const [load, reload] = useLoad(() => api.get<ConnectorList>(ROUTES.connectors), []);
  return (
    <div class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Connectors</h1>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      <Loaded load={load} retry={reload}>
        {(list) => (
          <>
            <p>
              Parley is <strong>{list.ready ? 'ready' : 'not ready'}</strong>; Redis: {list.redis}.
            </p>
            {list.connectors.length === 0 ? (
              <Empty>No connector is configured. Configure Teams, XMPP or SIP in Parley’s settings.</Empty>
            ) : (
              <div class="cards">
                {list.connectors.map((c) => (
                  <section class="card" key={c.name} aria-label={`Connector ${c.name}`}>
                    <h2>{c.name}</h2>
                    <p>
                      <span class={`badge ${c.state === 'up' ? 'allow' : c.state === 'down' ? 'block' : 'warn'}`}>{c.state}</span> since {fmtTime(c.since)}
                    </p>
                    <p class="muted">{STATE_HELP[c.state] ?? c.state}</p>
                    {c.detail && <p>{c.detail}</p>}
                    <dl class="kv">
                      <dt>Platforms</dt>
                      <dd>{c.platforms.join(', ')}</dd>
                      {(['waiting', 'active', 'delayed', 'failed'] as const).map((k) => (
                        <>
                          <dt>Queue {k}</dt>
                          <dd>{fmtNumber(c.queue[k])}</dd>
                        </>
                      ))}
                      <dt>Retries</dt>
                      <dd>{fmtNumber(c.retries)}</dd>
                    </dl>
                  </section>
                ))}
              </div>
            )}
            <DeadLetters connectors={list.connectors.map((c) => c.name)} />
          </>
        )}
      </Loaded>
    </div>
  );
}

function DeadLetters({ connectors }: { connectors: string[] }) {
  const [connector, setConnector] = useState('');
  const [page, setPage] = useState(1);
  const [load, reload] = useLoad(() => api.get<DeadLetterList>(ROUTES.deadLetters, { connector, offset: (page - 1) * PAGE, limit: PAGE }), [connector, page]);
  const [run, error, busy] = useAction();
  const act = (route: string, c: string, id: string) => void run(() => api.post(route, { connector: c, ids: [id] })).then((ok) => ok && reload());
  return (
    <section class="card" aria-labelledby="dl-title">
      <header class="card-head">
        <h2 id="dl-title">Dead letters</h2>
        <label>
          Connector{' '}
          <select value={connector} onChange={(e) => { setPage(1); setConnector((e.target as HTMLSelectElement).value); }}>
            <option value="">all</option>
            {connectors.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
      </header>
      <p class="muted">Deliveries that failed after every retry (metadata only; content is never shown). Replay sends them again; discard drops them.</p>
      {error && <ErrorBox error={error} />}
      <Loaded load={load} retry={reload}>
        {(list) =>
          list.deadLetters.length === 0 ? (
            <Empty>No dead letters: every delivery succeeded or is still being retried.</Empty>
          ) : (
            <>
              <div class="table-wrap" tabIndex={0} role="region" aria-label="Dead letters">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Job</th>
                      <th scope="col">Connector</th>
                      <th scope="col">Messages</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">Error</th>
                      <th scope="col">Failed</th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.deadLetters.map((d) => (
                      <tr key={`${d.connector}:${d.id}`}>
                        <td>{d.id}</td>
                        <td>{d.connector}</td>
                        <td class="num">{d.items}</td>
                        <td class="num">{d.attempts}</td>
                        <td>{d.error}</td>
                        <td>{fmtTime(d.failedAt ?? d.createdAt)}</td>
                        <td class="actions">
                          <button type="button" disabled={busy} onClick={() => act(ROUTES.deadLetterReplay, d.connector, d.id)} aria-label={`Replay ${d.id}`}>
                            Replay
                          </button>
                          <button type="button" class="danger" disabled={busy} onClick={() => window.confirm('Discard this dead letter? Its messages will not be delivered.') && act(ROUTES.deadLetterDiscard, d.connector, d.id)} aria-label={`Discard ${d.id}`}>
                            Discard
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager page={page} pages={Math.ceil(list.total / PAGE)} onPage={setPage} />
            </>
          )
        }
      </Loaded>
    </section>
  );
}
