import { useState } from 'preact/hooks';
import { api, PLATFORMS, ROUTES, type Federation, type FederationList } from '../api.ts';
import { Empty, ErrorBox, Loaded, useAction, useLoad } from '../ui.tsx';

const blank: Federation = { domain: '', action: 'allow', kind: 'partner', label: '' };

export function Federations({ canWrite }: { canWrite: boolean }) {
  const [load, reload] = useLoad(() => api.get<FederationList>(ROUTES.federations), []);
  const [editing, setEditing] = useState<{ original: string | undefined; value: Federation } | undefined>();
  const [run, error, busy] = useAction();
  const act = (fn: () => Promise<unknown>) => void run(fn).then((ok) => ok && reload());

  return (
    <div class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Federations</h1>
        {canWrite && (
          <button type="button" class="primary" onClick={() => setEditing({ original: undefined, value: { ...blank } })}>
            Add a domain
          </button>
        )}
      </div>
      <p class="muted">Which domains and platforms your users may exchange messages with. A change applies at once on every shard.</p>
      {error && <ErrorBox error={error} />}
      {editing && (
        <FederationForm
          value={editing.value}
          isNew={editing.original === undefined}
          busy={busy}
          onCancel={() => setEditing(undefined)}
          onSave={(f) =>
            void run(async () => {
              const body = { action: f.action, kind: f.kind, label: f.label ? f.label : null, platforms: f.platforms && f.platforms.length > 0 ? f.platforms : null };
              if (editing.original === undefined) {
                await api.post(ROUTES.federations, { domain: f.domain, action: f.action, kind: f.kind, ...(f.label ? { label: f.label } : {}), ...(f.platforms?.length ? { platforms: f.platforms } : {}) });
              } else await api.put(ROUTES.federations, body, { domain: editing.original });
            }).then((ok) => {
              if (ok) {
                setEditing(undefined);
                reload();
              }
            })
          }
        />
      )}
      <Loaded load={load} retry={reload}>
        {(list) => (
          <>
            <p>
              Domains without a rule are <strong>{list.defaultAction === 'allow' ? 'allowed' : 'blocked'}</strong>. Your own domains: {list.localDomains.join(', ') || 'none configured'}.
            </p>
            {list.domains.length === 0 ? (
              <Empty>No federated domains yet. {canWrite ? 'Use “Add a domain” to allow or block a partner domain.' : 'An administrator can add them.'}</Empty>
            ) : (
              <div class="table-wrap" tabIndex={0} role="region" aria-label="Federated domains">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Domain</th>
                      <th scope="col">Label</th>
                      <th scope="col">Rule</th>
                      <th scope="col">Platforms</th>
                      <th scope="col">Kind</th>
                      {canWrite && <th scope="col">Actions</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {list.domains.map((f) => (
                      <tr key={f.domain} data-domain={f.domain}>
                        <td>{f.domain}</td>
                        <td class="label-cell">{f.label ?? ''}</td>
                        <td>
                          <span class={`badge ${f.action}`}>{f.action === 'allow' ? 'allowed' : 'blocked'}</span>
                        </td>
                        <td>{f.platforms?.join(', ') ?? 'all'}</td>
                        <td>{f.kind}</td>
                        {canWrite && (
                          <td class="actions">
                            <button type="button" onClick={() => setEditing({ original: f.domain, value: { ...f } })} aria-label={`Edit ${f.domain}`}>
                              Edit
                            </button>
                            <button type="button" disabled={busy} onClick={() => act(() => api.put(ROUTES.federations, { action: f.action === 'allow' ? 'block' : 'allow' }, { domain: f.domain }))} aria-label={`${f.action === 'allow' ? 'Block' : 'Allow'} ${f.domain}`}>
                              {f.action === 'allow' ? 'Block' : 'Allow'}
                            </button>
                            <button type="button" class="danger" disabled={busy} onClick={() => window.confirm(`Delete the rule for ${f.domain}? The default (${list.defaultAction}) then applies.`) && act(() => api.del(ROUTES.federations, { domain: f.domain }))} aria-label={`Delete ${f.domain}`}>
                              Delete
                            </button>
                          </td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </Loaded>
    </div>
  );
}

function FederationForm(p: { value: Federation; isNew: boolean; busy: boolean; onSave: (f: Federation) => void; onCancel: () => void }) {
  const [f, setF] = useState<Federation>(p.value);
  const set = (patch: Partial<Federation>) => setF({ ...f, ...patch });
  const platforms = new Set(f.platforms ?? []);
  return (
    <form
      class="card form"
      aria-label={p.isNew ? 'Add a domain' : `Edit ${f.domain}`}
      onSubmit={(e) => {
        e.preventDefault();
        p.onSave(f);
      }}
    >
      <h2>{p.isNew ? 'Add a domain' : `Edit ${f.domain}`}</h2>
      {p.isNew && (
        <div class="field">
          <label for="fed-domain">Domain</label>
          <input id="fed-domain" value={f.domain} required maxLength={253} placeholder="partner.example" onInput={(e) => set({ domain: (e.target as HTMLInputElement).value.trim().toLowerCase() })} />
        </div>
      )}
      <div class="field">
        <label for="fed-label">Label</label>
        <input id="fed-label" value={f.label ?? ''} maxLength={256} onInput={(e) => set({ label: (e.target as HTMLInputElement).value })} />
      </div>
      <fieldset>
        <legend>Rule</legend>
        {(['allow', 'block'] as const).map((a) => (
          <label key={a} class="inline">
            <input type="radio" name="fed-action" checked={f.action === a} onChange={() => set({ action: a })} /> {a === 'allow' ? 'Allow' : 'Block'}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Platforms (none ticked: all)</legend>
        {PLATFORMS.filter((x) => x !== 'teams').map((x) => (
          <label key={x} class="inline">
            <input
              type="checkbox"
              checked={platforms.has(x)}
              onChange={(e) => {
                const next = new Set(platforms);
                if ((e.target as HTMLInputElement).checked) next.add(x);
                else next.delete(x);
                set({ platforms: [...next] });
              }}
            />{' '}
            {x.toUpperCase()}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Kind</legend>
        {(['partner', 'internal'] as const).map((k) => (
          <label key={k} class="inline">
            <input type="radio" name="fed-kind" checked={f.kind === k} onChange={() => set({ kind: k })} /> {k === 'partner' ? 'Partner (external)' : 'Internal (our own)'}
          </label>
        ))}
      </fieldset>
      <div class="form-buttons">
        <button type="submit" class="primary" disabled={p.busy}>
          Save
        </button>
        <button type="button" onClick={p.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
