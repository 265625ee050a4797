import { useState } from 'preact/hooks';
import { api, ROUTES, type AuditList } from '../api.ts';
import { Empty, FilterForm, Loaded, Pager, fmtTime, useLoad } from '../ui.tsx';

const PAGE = 50;
const show = (v: unknown): string => (v === null || v === undefined ? '—' : JSON.stringify(v));

export function Audit() {
  const [page, setPage] = useState(1);
  const [action, setAction] = useState('');
  const [load, reload] = useLoad(() => api.get<AuditList>(ROUTES.audit, { offset: (page - 1) * PAGE, limit: PAGE, action }), [page, action]);
  return (
    <div class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Audit</h1>
        <FilterForm label="Action" button="Filter" placeholder="e.g. federation.update" maxLength={128} onFilter={(v) => { setPage(1); setAction(v); }} />
      </div>
      <p class="muted">Every administrative change: who, when, what, before and after. Newest first.</p>
      <Loaded load={load} retry={reload}>
        {(list) =>
          list.entries.length === 0 ? (
            <Empty>{action ? `No change recorded with action “${action}”.` : 'No administrative change recorded yet.'}</Empty>
          ) : (
            <>
              <div class="table-wrap" tabIndex={0} role="region" aria-label="Audit log">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Who</th>
                      <th scope="col">Action</th>
                      <th scope="col">Target</th>
                      <th scope="col">Before</th>
                      <th scope="col">After</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.entries.map((e) => (
                      <tr key={e.id}>
                        <td>{fmtTime(e.at)}</td>
                        <td>
                          {e.actor} <span class="muted">({e.role})</span>
                        </td>
                        <td>{e.action}</td>
                        <td>{e.target}</td>
                        <td>
                          <code class="json">{show(e.before)}</code>
                        </td>
                        <td>
                          <code class="json">{show(e.after)}</code>
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
    </div>
  );
}
