// An @xmpp/client user in a worker thread of its own, so that a benchmark's
// XMPP peers do not share an event loop with the hub they measure.
// Plain JS: Node 20 workers do not load TypeScript without a loader.
/* global performance, setTimeout, process */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { client, xml } from '@xmpp/client';

const { service, domain, username, password, mode, to, count, ratePerSec, idPrefix, chunk } = workerData;
const now = () => performance.timeOrigin + performance.now();
/** CPU seconds used by this worker's own thread (Linux; 0 elsewhere): tells whether a peer limits the run. */
const threadCpu = () => {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
};
let cpuAtGo = 0;
const c = client({ service, domain, username, password, resource: `bench-${mode}` });
c.on('error', () => undefined);
c.reconnect.stop();

const received = new Float64Array(count);
let got = 0;
let firstAt = 0;
c.on('stanza', (el) => {
  if (el.name !== 'message') return;
  const id = el.attrs.id?.replace(/^parley:/, '');
  if (!id || !id.startsWith(idPrefix)) return;
  const i = Number(id.slice(idPrefix.length));
  if (!(i >= 0 && i < count) || received[i] !== 0) return;
  received[i] = now();
  if (got === 0) firstAt = received[i];
  got++;
  if (got === count) parentPort.postMessage({ kind: 'done', times: received, firstAt, lastAt: received[i], cpuSeconds: threadCpu() - cpuAtGo });
});

const body = 'benchmark message: the quick brown fox jumps over the lazy dog, 0123456789';
const stanza = (i) => xml('message', { to, type: 'chat', id: `${idPrefix}${i}` }, xml('body', {}, body)).toString();

async function send() {
  const sent = new Float64Array(count);
  const started = now();
  cpuAtGo = threadCpu();
  for (let i = 0; i < count; ) {
    if (ratePerSec > 0) {
      const due = started + (i * 1000) / ratePerSec;
      const wait = due - now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    const n = ratePerSec > 0 ? Math.max(1, Math.min(chunk, Math.floor(((now() - started) * ratePerSec) / 1000) - i + 1)) : chunk;
    let frag = '';
    const end = Math.min(count, i + n);
    const t = now();
    for (let k = i; k < end; k++) {
      frag += stanza(k);
      sent[k] = t;
    }
    await c.write(frag);
    i = end;
  }
  parentPort.postMessage({ kind: 'sent', times: sent, startedAt: started, endedAt: now(), cpuSeconds: threadCpu() - cpuAtGo });
}

parentPort.on('message', (m) => {
  if (m === 'go') send().catch((err) => parentPort.postMessage({ kind: 'error', message: String(err) }));
  if (m === 'stop') c.stop().finally(() => process.exit(0));
});

await c.start();
c.socket?.setNoDelay(true);
await c.iqCaller.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
await c.send(xml('presence'));
cpuAtGo = threadCpu();
parentPort.postMessage({ kind: 'ready' });
