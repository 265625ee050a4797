import { useState } from 'preact/hooks';
import { api, ROUTES, type AuthStatus, type Session, type TotpEnrolment } from '../api.ts';
import { ErrorBox, useAction } from '../ui.tsx';

const value = (e: Event): string => (e.target as HTMLInputElement).value;

function Field(p: { label: string; name: string; type?: 'text' | 'password'; value: string; onInput: (v: string) => void; autocomplete?: string; hint?: string; inputMode?: 'numeric' }) {
  const id = `f-${p.name}`;
  const extra: Record<string, string | number> = { type: p.type ?? 'text' };
  if (p.autocomplete) extra.autocomplete = p.autocomplete;
  if (p.inputMode) Object.assign(extra, { inputMode: p.inputMode, pattern: '[0-9]{6}', maxLength: 6 });
  if (p.hint) extra['aria-describedby'] = `${id}-hint`;
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        value={p.value}
        onInput={(e) => p.onInput(value(e))}
        required
        {...extra}
      />
      {p.hint && (
        <small id={`${id}-hint`} class="muted">
          {p.hint}
        </small>
      )}
    </div>
  );
}

/** Sign-in, second factor, first-time setup and TOTP enrolment, driven by the session's stage. */
export function SignIn({ status, session, onSession }: { status: AuthStatus | undefined; session: Session | undefined; onSession: (s: Session) => void }) {
  if (session?.stage === 'totp') return <TotpStep onSession={onSession} />;
  if (session?.stage === 'enrol') return <EnrolStep onSession={onSession} />;
  if (status?.setupRequired) return <SetupStep onSession={onSession} />;
  return <LoginStep status={status} onSession={onSession} />;
}

function Card({ title, children }: { title: string; children: preact.ComponentChildren }) {
  return (
    <main id="main" class="signin">
      <section class="card">
        <h1 tabIndex={-1}>{title}</h1>
        {children}
      </section>
    </main>
  );
}

function LoginStep({ status, onSession }: { status: AuthStatus | undefined; onSession: (s: Session) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [run, error, busy] = useAction();
  const local = status?.localLogin ?? true;
  return (
    <Card title="Sign in to Parley">
      {status?.oidc.enabled && (
        <p>
          <a class="button primary" href={ROUTES.oidcStart}>
            Sign in with your organisation{status.oidc.name ? ` (${status.oidc.name})` : ''}
          </a>
        </p>
      )}
      {local && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => onSession(await api.post<Session>(ROUTES.login, { username, password })));
          }}
        >
          <Field label="Username" name="username" value={username} onInput={setUsername} autocomplete="username" />
          <Field label="Password" name="password" type="password" value={password} onInput={setPassword} autocomplete="current-password" />
          {error && <ErrorBox error={error} />}
          <button type="submit" class="primary" disabled={busy}>
            Sign in
          </button>
        </form>
      )}
      {!local && !status?.oidc.enabled && <p class="error">No sign-in method is configured. Set up local accounts or OpenID Connect in Parley's configuration.</p>}
    </Card>
  );
}

function TotpStep({ onSession }: { onSession: (s: Session) => void }) {
  const [code, setCode] = useState('');
  const [run, error, busy] = useAction();
  return (
    <Card title="Second factor">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => onSession(await api.post<Session>(ROUTES.loginTotp, { code })));
        }}
      >
        <Field label="Six-digit code from your authenticator app" name="code" value={code} onInput={setCode} autocomplete="one-time-code" inputMode="numeric" />
        {error && <ErrorBox error={error} />}
        <button type="submit" class="primary" disabled={busy}>
          Verify
        </button>
      </form>
    </Card>
  );
}

function SetupStep({ onSession }: { onSession: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [run, error, busy] = useAction();
  return (
    <Card title="Create the first administrator">
      <p>
        This Parley has no administrator yet. Enter the one-time setup token that <code>make run</code> printed when Parley started (also in its log).
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => onSession(await api.post<Session>(ROUTES.setup, { token, username, password })));
        }}
      >
        <Field label="Setup token" name="token" value={token} onInput={setToken} autocomplete="off" />
        <Field label="Username" name="username" value={username} onInput={setUsername} autocomplete="username" hint="3–64 letters, digits, . _ @ -" />
        <Field label="Password" name="password" type="password" value={password} onInput={setPassword} autocomplete="new-password" hint="At least 12 characters" />
        {error && <ErrorBox error={error} />}
        <button type="submit" class="primary" disabled={busy}>
          Create administrator
        </button>
      </form>
    </Card>
  );
}

function EnrolStep({ onSession }: { onSession: (s: Session) => void }) {
  const [enrolment, setEnrolment] = useState<TotpEnrolment | undefined>();
  const [code, setCode] = useState('');
  const [run, error, busy] = useAction();
  return (
    <Card title="Set up your second factor">
      {!enrolment ? (
        <>
          <p>Administrators sign in with a password and a code from an authenticator app (TOTP). Create your secret now; it is shown once.</p>
          {error && <ErrorBox error={error} />}
          <button type="button" class="primary" disabled={busy} onClick={() => void run(async () => setEnrolment(await api.post<TotpEnrolment>(ROUTES.totpEnrol)))}>
            Create my secret
          </button>
        </>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => onSession(await api.post<Session>(ROUTES.totpConfirm, { code })));
          }}
        >
          <p>Add this account to your authenticator app: open the link on your phone, or type the secret.</p>
          <dl class="secret">
            <dt>Secret</dt>
            <dd>
              <code data-testid="totp-secret">{enrolment.secret}</code>
            </dd>
            <dt>Link</dt>
            <dd>
              <a href={enrolment.uri} data-testid="totp-uri">
                {enrolment.uri}
              </a>
            </dd>
          </dl>
          <Field label="Code shown by the app" name="code" value={code} onInput={setCode} autocomplete="one-time-code" inputMode="numeric" />
          {error && <ErrorBox error={error} />}
          <button type="submit" class="primary" disabled={busy}>
            Confirm
          </button>
        </form>
      )}
    </Card>
  );
}
