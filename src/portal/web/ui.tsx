import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

export type Load<T> =
  | { state: 'loading' }
  | { state: 'error'; error: ApiError }
  | { state: 'ok'; data: T };

const asApiError = (e: unknown): ApiError =>
  e instanceof ApiError ? e : new ApiError(0, 'CLIENT', e instanceof Error ? e.message : String(e));

/** Loads `fn()` whenever `deps` change; `reload()` runs it again. Stale answers are ignored. */
export function useLoad<T>(fn: () => Promise<T>, deps: readonly unknown[]): [Load<T>, () => void] {
  const [load, setLoad] = useState<Load<T>>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setLoad((prev) => (prev.state === 'ok' ? prev : { state: 'loading' }));
    fn().then(
      (data) => mine === seq.current && setLoad({ state: 'ok', data }),
      (e: unknown) => mine === seq.current && setLoad({ state: 'error', error: asApiError(e) }),
    );
  }, [...deps, tick]);
  return [load, useCallback(() => setTick((t) => t + 1), [])];
}

/** Runs a state-changing action, keeping its error for display. */
export function useAction(): [(fn: () => Promise<unknown>) => Promise<boolean>, ApiError | undefined, boolean] {
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(asApiError(e));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return [run, error, busy];
}

export function ErrorBox({ error, retry }: { error: ApiError; retry?: () => void }) {
  return (
    <div class="error" role="alert">
      <p>{error.message}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function Loading() {
  return (
    <p class="loading" aria-live="polite">
      Loading…
    </p>
  );
}

/** Renders the three states of a load; `children` gets the data. */
export function Loaded<T>({ load, retry, children }: { load: Load<T>; retry?: () => void; children: (data: T) => ComponentChildren }) {
  if (load.state === 'loading') return <Loading />;
  if (load.state === 'error') return <ErrorBox error={load.error} {...(retry ? { retry } : {})} />;
  return <>{children(load.data)}</>;
}

export function Pager({ page, pages, onPage }: { page: number; pages: number; onPage: (p: number) => void }) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page} of {Math.max(1, pages)}
      </span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}

export const fmtNumber = (n: number): string => n.toLocaleString('en-US');

export function fmtTime(t: string | number | undefined): string {
  if (t === undefined || t === '') return '';
  const d = new Date(typeof t === 'number' ? t : t.includes('T') || t.includes(' ') ? t.replace(' ', 'T') + (/[zZ+]/.test(t) ? '' : 'Z') : t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

/** A one-field filter in a page's head: keeps its own draft, hands the trimmed value over on submit. */
export function FilterForm(p: { label: string; button: string; placeholder: string; maxLength: number; search?: boolean; onFilter: (value: string) => void }) {
  const [draft, setDraft] = useState('');
  const field = { value: draft, maxLength: p.maxLength, placeholder: p.placeholder, onInput: (e: Event) => setDraft((e.target as HTMLInputElement).value) };
  return (
    <form
      class="filters"
      {...(p.search ? { role: 'search' } : {})}
      onSubmit={(e) => {
        e.preventDefault();
        p.onFilter(draft.trim());
      }}
    >
      <label>
        {p.label}
        {p.search ? <input type="search" {...field} /> : <input type="text" {...field} />}
      </label>
      <button type="submit">{p.button}</button>
    </form>
  );
}
