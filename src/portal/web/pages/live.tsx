import { useEffect, useState } from 'preact/hooks';
import { ROUTES } from '../api.ts';
import { fmtNumber } from '../ui.tsx';

type Live = { state: 'connecting' } | { state: 'live'; perMinute: number; at: number } | { state: 'down'; why: string };

/** Messages per minute, pushed by the server over a WebSocket (reconnects with backoff). */
export function LiveRate() {
  const [live, setLive] = useState<Live>({ state: 'connecting' });
  useEffect(() => {
    let ws: WebSocket | undefined;
    let stopped = false;
    let delay = 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${ROUTES.live}`;
      ws = new WebSocket(url);
      ws.onmessage = (ev) => {
        delay = 1000;
        try {
          const m = JSON.parse(String(ev.data)) as { perMinute?: unknown; at?: unknown };
          if (typeof m.perMinute === 'number') setLive({ state: 'live', perMinute: m.perMinute, at: typeof m.at === 'number' ? m.at : Date.now() });
        } catch {
          // a malformed push is ignored; the next one replaces it
        }
      };
      ws.onclose = () => {
        if (stopped) return;
        setLive({ state: 'down', why: `Live figure unavailable; reconnecting in ${Math.round(delay / 1000)} s.` });
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30_000);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ws?.close();
    };
  }, []);
  return (
    <section class="card live" aria-label="Live traffic">
      <span class="muted">Messages in the last minute</span>
      <span class="big" aria-live="polite" data-live={live.state}>
        {live.state === 'live' ? fmtNumber(live.perMinute) : '–'}
      </span>
      {live.state === 'down' && <span class="muted">{live.why}</span>}
      {live.state === 'connecting' && <span class="muted">Connecting…</span>}
    </section>
  );
}
