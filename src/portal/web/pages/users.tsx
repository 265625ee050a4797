import { useState } from 'preact/hooks';
import { api, ROUTES, type AdminUser, type ContactList, type UserList } from '../api.ts';
import { Empty, ErrorBox, FilterForm, Loaded, Pager, fmtTime, useAction, useLoad } from '../ui.tsx';

const PAGE = 25;

export function Users() {
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState<AdminUser | undefined>();
  const [load, reload] = useLoad(() => api.get<UserList>(ROUTES.users, { q, offset: (page - 1) * PAGE, limit: PAGE }), [q, page]);
  const [run, error, busy] = useAction();

  return (
    <div class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Users</h1>
        <FilterForm label="Search" button="Search" placeholder="name, email or address" maxLength={200} search onFilter={(v) => { setPage(1); setQ(v); }} />
      </div>
      <p class="muted">The Teams users Parley knows. Turning federation off stops a user's messages to and from every external platform.</p>
      {error && <ErrorBox error={error} />}
      <Loaded load={load} retry={reload}>
        {(list) =>
          list.users.length === 0 ? (
            <Empty>{q ? `No user matches “${q}”. Try part of a name or an email address.` : 'No users yet. Users appear here after they first talk to the Parley bot in Teams.'}</Empty>
          ) : (
            <>
              <div class="table-wrap" tabIndex={0} role="region" aria-label="Users">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Email</th>
                      <th scope="col">Address</th>
                      <th scope="col">Last seen</th>
                      <th scope="col">Federation</th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.users.map((u) => (
                      <tr key={u.id}>
                        <td>{u.name ?? ''}</td>
                        <td>{u.email ?? ''}</td>
                        <td>{u.id}</td>
                        <td>{fmtTime(u.lastSeen)}</td>
                        <td>
                          <span class={`badge ${u.federationEnabled ? 'allow' : 'block'}`}>{u.federationEnabled ? 'on' : 'off'}</span>
                        </td>
                        <td class="actions">
                          <button
                            type="button"
                            disabled={busy}
                            aria-label={`${u.federationEnabled ? 'Disable' : 'Enable'} federation for ${u.name ?? u.id}`}
                            onClick={() => void run(() => api.put(ROUTES.userFederation, { enabled: !u.federationEnabled }, { id: u.id })).then((ok) => ok && reload())}
                          >
                            {u.federationEnabled ? 'Disable' : 'Enable'}
                          </button>
                          <button type="button" aria-expanded={open?.id === u.id} onClick={() => setOpen(open?.id === u.id ? undefined : u)} aria-label={`Contacts of ${u.name ?? u.id}`}>
                            Contacts
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
      {open && <Contacts user={open} onClose={() => setOpen(undefined)} />}
    </div>
  );
}

function Contacts({ user, onClose }: { user: AdminUser; onClose: () => void }) {
  const [load, reload] = useLoad(() => api.get<ContactList>(ROUTES.contacts, { id: user.id }), [user.id]);
  const [run, error, busy] = useAction();
  return (
    <section class="card" aria-labelledby="contacts-title">
      <header class="card-head">
        <h2 id="contacts-title">External contacts of {user.name ?? user.id}</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </header>
      {error && <ErrorBox error={error} />}
      <Loaded load={load} retry={reload}>
        {(list) =>
          list.contacts.length === 0 ? (
            <Empty>This user has no external contacts.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0} role="region" aria-label="Contacts">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Address</th>
                    <th scope="col">Platform</th>
                    <th scope="col">State</th>
                    <th scope="col">Since</th>
                    <th scope="col">Asked first</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {list.contacts.map((c) => (
                    <tr key={`${c.platform}:${c.address}`}>
                      <td>{c.address}</td>
                      <td>{c.platform}</td>
                      <td>{c.state}</td>
                      <td>{fmtTime(c.since)}</td>
                      <td>{c.askedFirst}</td>
                      <td>
                        <button
                          type="button"
                          class="danger"
                          disabled={busy}
                          aria-label={`Revoke ${c.address}`}
                          onClick={() =>
                            window.confirm(`Revoke ${c.address}? The subscription ends on ${c.platform} and ${user.name ?? user.id} is told.`) &&
                            void run(() => api.post(ROUTES.contactRevoke, { user: list.user, platform: c.platform, address: c.address })).then((ok) => ok && reload())
                          }
                        >
                          Revoke
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </section>
  );
}
