import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, ROUTES, setCsrfToken, setUnauthorizedHandler, type AuthStatus, type Session } from './api.ts';
import { Audit } from './pages/audit.tsx';
import { Connectors } from './pages/connectors.tsx';
import { Federations } from './pages/federations.tsx';
import { Overview } from './pages/overview.tsx';
import { SignIn } from './pages/signin.tsx';
import { Users } from './pages/users.tsx';
import { ErrorBox, Loading } from './ui.tsx';
import './styles.css';

const PAGES = [
  { path: 'overview', title: 'Overview', admin: false },
  { path: 'federations', title: 'Federations', admin: true },
  { path: 'users', title: 'Users', admin: true },
  { path: 'connectors', title: 'Connectors', admin: true },
  { path: 'audit', title: 'Audit', admin: true },
] as const;
type PagePath = (typeof PAGES)[number]['path'];

const currentPage = (): PagePath => {
  const h = location.hash.replace(/^#\/?/, '');
  return (PAGES.find((p) => p.path === h)?.path ?? 'overview') as PagePath;
};

type Boot = { state: 'loading' } | { state: 'error'; error: ApiError } | { state: 'ready'; status: AuthStatus | undefined; session: Session | undefined };

function App() {
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });
  const [page, setPage] = useState<PagePath>(currentPage());

  const start = async () => {
    setBoot({ state: 'loading' });
    const [status, session] = await Promise.all([
      api.get<AuthStatus>(ROUTES.status).catch((e: unknown) => (e instanceof ApiError && e.status === 404 ? undefined : Promise.reject(e))),
      api.get<Session>(ROUTES.session).catch((e: unknown) => (e instanceof ApiError && e.status === 401 ? undefined : Promise.reject(e))),
    ]);
    if (session) setCsrfToken(session.csrfToken);
    setBoot({ state: 'ready', status, session });
  };
  const boot0 = () => void start().catch((e: unknown) => setBoot({ state: 'error', error: e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)) }));

  useEffect(() => {
    boot0();
    setUnauthorizedHandler(() => setBoot((b) => (b.state === 'ready' ? { ...b, session: undefined } : b)));
    const onHash = () => setPage(currentPage());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  // Focus the page heading after navigation so keyboard and screen-reader users land on the new content.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus();
    const p = PAGES.find((x) => x.path === page);
    document.title = `${p?.title ?? 'Portal'} · Parley`;
  }, [page]);

  if (boot.state === 'loading') return <main id="main"><Loading /></main>;
  if (boot.state === 'error') return <main id="main" class="signin"><h1>Parley portal</h1><ErrorBox error={boot.error} retry={boot0} /></main>;
  const { session, status } = boot;
  const onSession = (s: Session) => {
    setCsrfToken(s.csrfToken);
    setBoot({ state: 'ready', status: status ? { ...status, setupRequired: false } : status, session: s });
  };
  if (!session || session.stage !== 'active') return <SignIn status={status} session={session} onSession={onSession} />;

  const isAdmin = session.user.role === 'admin';
  const visible = PAGES.filter((p) => isAdmin || !p.admin);
  const shown = visible.some((p) => p.path === page) ? page : 'overview';
  const signOut = () =>
    void api.post(ROUTES.logout).finally(() => {
      setCsrfToken('');
      setBoot({ state: 'ready', status, session: undefined });
    });

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.querySelector<HTMLElement>('main h1')?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Parley</span>
        <nav aria-label="Portal">
          <ul>
            {visible.map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={shown === p.path ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {session.user.name ?? session.user.username} <span class="muted">({session.user.role})</span>
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" data-page={shown}>
        {shown === 'overview' && <Overview />}
        {shown === 'federations' && <Federations canWrite={isAdmin} />}
        {shown === 'users' && <Users />}
        {shown === 'connectors' && <Connectors />}
        {shown === 'audit' && <Audit />}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
