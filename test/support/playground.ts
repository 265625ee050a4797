import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';

/**
 * Microsoft 365 Agents Playground (Microsoft's local Teams emulator with a
 * mocked Bot Connector), driven headless through its HTTP API: it sends the
 * bot unauthenticated activities, so the bot must run in development mode.
 */
export interface PlaygroundMessage {
  id?: string;
  text?: string;
  from?: { id?: string; name?: string };
  attachments?: unknown[];
  [k: string]: unknown;
}

export interface Playground {
  url: string;
  personalChatId: string;
  config: Record<string, unknown>;
  /** Bot messages pushed on the conversation stream, in arrival order. */
  messages: PlaygroundMessage[];
  /** Sends a user message into the personal chat (or the given conversation). */
  say(text: string, conversationId?: string): Promise<void>;
  /** Waits for a bot message matching the predicate (among those after `from`). */
  waitFor(pred: (m: PlaygroundMessage) => boolean, timeoutMs?: number, from?: number): Promise<PlaygroundMessage>;
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startPlayground(botEndpoint: string, o: { startTimeoutMs?: number } = {}): Promise<Playground> {
  const port = await freePort();
  const bin = path.resolve('node_modules/.bin/agentsplayground');
  let log = '';
  const child: ChildProcess = spawn(bin, ['-e', botEndpoint, '-c', 'msteams', '--dt', '-p', String(port)], {
    env: { ...process.env, TEAMSAPPTESTER_BROWSER: 'none', BROWSER: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
  let config: Record<string, unknown> | undefined;
  while (!config) {
    if (child.exitCode !== null) throw new Error(`agentsplayground exited (${child.exitCode}): ${log.slice(-2000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`agentsplayground did not start: ${log.slice(-2000)}`);
    }
    try {
      const res = await fetch(`${url}/_internal/v1/config`);
      if (res.ok) config = (await res.json()) as Record<string, unknown>;
    } catch {
      // not listening yet
    }
    if (!config) await new Promise((r) => setTimeout(r, 250));
  }
  const inner = (config.config ?? config) as { personalChat?: { id?: string } };
  const personalChatId = inner.personalChat?.id;
  if (!personalChatId) throw new Error(`agentsplayground config has no personalChat.id: ${JSON.stringify(config).slice(0, 500)}`);
  const messages: PlaygroundMessage[] = [];
  const listeners = new Set<() => void>();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/_ws_conversation/v1/conversations/stream`);
  ws.on('message', (data) => {
    try {
      const ev = JSON.parse(data.toString()) as { action?: string; message?: PlaygroundMessage };
      if (ev.action === 'createMessage' && ev.message) {
        messages.push(ev.message);
        for (const l of listeners) l();
      }
    } catch {
      // not ours to judge
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    url,
    personalChatId,
    config,
    messages,
    async say(text, conversationId = personalChatId) {
      const res = await fetch(`${url}/_conversation/v1/conversations/${encodeURIComponent(conversationId)}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from: { id: 'user-id-0' }, text, textFormat: 'plain' }),
      });
      if (!res.ok) throw new Error(`playground refused the message: ${res.status} ${await res.text()}`);
    },
    waitFor(pred, timeoutMs = 15_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = messages.slice(from).find(pred);
          if (!m) return false;
          listeners.delete(onMessage);
          clearTimeout(timer);
          resolve(m);
          return true;
        };
        const onMessage = (): void => void check();
        const timer = setTimeout(() => {
          listeners.delete(onMessage);
          reject(new Error(`no matching bot message within ${timeoutMs} ms; got: ${JSON.stringify(messages.map((m) => m.text))}`));
        }, timeoutMs);
        listeners.add(onMessage);
        check();
      });
    },
    output: () => log,
    async stop() {
      ws.close();
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
