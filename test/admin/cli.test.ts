import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCommand } from '../../src/cli/admin.ts';
import { RedisUserDirectory } from '../../src/state/user-directory.ts';
import { teamsUser, xmppUser } from '../support/hub.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { createToken, setupAdmin, startRig, type AdminRig } from './support.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('parley admin: the CLI over a running admin API with an API token', () => {
  let redis: TestRedis;
  let rig: AdminRig;
  let env: Record<string, string>;
  let readEnv: Record<string, string>;

  const run = async (args: string[], e = env): Promise<{ code: number; out: string; err: string }> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await adminCommand(args, { env: e, out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    rig = await startRig(redis.url, {}, { listen: true });
    const admin = (await setupAdmin(rig)).session;
    const url = `http://127.0.0.1:${rig.admin.port}`;
    env = { PARLEY_ADMIN_URL: url, PARLEY_ADMIN_TOKEN: await createToken(rig, admin, ['read', 'write']) };
    readEnv = { PARLEY_ADMIN_URL: url, PARLEY_ADMIN_TOKEN: await createToken(rig, admin, ['read']) };
    const prefix = (rig.hub.hub as unknown as { config: { redis: { keyPrefix: string } } }).config.redis.keyPrefix;
    const r = new Redis(redis.url);
    await new RedisUserDirectory(r, prefix).upsert({ id: 'user1@parley.local', platform: 'teams', domain: 'parley.local', name: 'Ada Lovelace' });
    r.disconnect();
  });
  afterAll(async () => {
    await rig?.stop();
    await redis?.stop();
  });

  it('manages domains: add, block, allow, list, remove', async () => {
    expect((await run(['domains', 'add', 'partner.example', '--platforms', 'xmpp', '--label', 'Partner <b>'])).code).toBe(0);
    expect((await run(['domains', 'block', 'partner.example'])).out).toBe('partner.example: block');
    expect((await run(['domains', 'block', 'other.example'])).out).toBe('other.example: block');
    const list = await run(['domains', 'list']);
    expect(list.out).toMatch(/^default: allow/);
    expect(list.out).toMatch(/partner\.example\s+block\s+partner\s+xmpp\s+Partner <b>/);
    const json = JSON.parse((await run(['domains', 'list', '--json'])).out) as { domains: Array<{ domain: string }> };
    expect(json.domains.map((d) => d.domain)).toEqual(['partner.example', 'other.example']);
    expect((await run(['domains', 'remove', 'other.example'])).code).toBe(0);
    const again = await run(['domains', 'remove', 'other.example']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/HTTP 404 NOT_FOUND/);
  });

  it('lists users, disables and enables one; lists and revokes contacts; lists the audit', async () => {
    expect((await run(['users', 'list', '--search', 'ada'])).out).toMatch(/user1@parley\.local\s+Ada Lovelace\s+on/);
    expect((await run(['users', 'disable', 'user1@parley.local'])).out).toBe('user1@parley.local: federation off');
    expect((await run(['users', 'enable', 'user1@parley.local'])).out).toBe('user1@parley.local: federation on');

    const me = teamsUser(1);
    const peer = xmppUser(5, 'friends.example');
    // The re-enabled user's policy reaches the shards within moments: retry until the request is accepted.
    let n = 0;
    for (let outcome = ''; outcome !== 'accepted' && n < 50; n++) {
      outcome = (await rig.hub.hub.ingest({ type: 'contact-request', id: `c${n}`, ts: Date.now(), from: me, to: peer })).outcome;
      if (outcome !== 'accepted') await new Promise((r) => setTimeout(r, 50));
    }
    expect((await run(['contacts', 'list', me.id])).out).toMatch(new RegExp(`xmpp:${peer.id}\\s+pending-out\\s+user`));
    expect((await run(['contacts', 'revoke', me.id, `xmpp:${peer.id}`])).code).toBe(0);
    expect((await run(['contacts', 'list', me.id])).out).not.toContain(peer.id);

    const audit = await run(['audit', '--action', 'user.federation']);
    expect(audit.out.split('\n').filter((l) => l.includes('user.federation'))).toHaveLength(2);
    expect(audit.out).toContain('token:t-read-write');
  });

  it('a read-only token cannot change anything; bad usage and a missing token are clear errors', async () => {
    const refused = await run(['domains', 'add', 'ro.example'], readEnv);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/403 FORBIDDEN.*write scope/);
    expect((await run(['domains', 'list'], readEnv)).code).toBe(0);
    expect((await run(['domains', 'add'])).code).toBe(2);
    expect((await run(['contacts', 'revoke', 'a', 'nocolon'])).code).toBe(2);
    expect((await run(['domains', 'list'], { PARLEY_ADMIN_URL: env.PARLEY_ADMIN_URL as string })).code).toBe(2);
    expect((await run(['domains', 'list'], { ...env, PARLEY_ADMIN_TOKEN: 'ptk_nope' })).err).toMatch(/401/);
  });

  it('is wired into bin/parley', async () => {
    // Asynchronously: the admin API answering it runs in this very process.
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(root, 'bin/parley.js'), 'admin', 'domains', 'list'], {
        cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, encoding: 'utf8', timeout: 30_000,
      }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/partner\.example\s+block/);
  });
});
