/**
 * What a delivered mark costs Redis with the idempotency key as it was (the
 * plain `sender>id>recipient` triple) and as it is (a 22-character digest):
 * redis-server CPU per mark written (`SET … EX`, as the mark script does) and
 * read (`MGET`, as the commit script does), and memory per mark. Side by side
 * in one run, alternating, against a redis-server of its own:
 *
 *   npx tsx bench/tools/mark-keys.ts
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { idempotencyKey } from '../../src/delivery/items.ts';
import { markKey } from '../../src/delivery/idempotency.ts';
import { ManagedRedis } from '../../src/state/managed-redis.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { printTable } from '../lib/table.ts';

const PER_CALL = 500;
const CALLS = 200;
const ROUNDS = 3;
const PREFIX = 'parley';
const WRITE = `for i = 1, #KEYS do redis.call('SET', KEYS[i], '1', 'EX', ARGV[1]) end return #KEYS`;
const READ = `return redis.call('MGET', unpack(KEYS))`;

function envelope(i: number): Envelope {
  return {
    type: 'im',
    id: `1764151234567-${i.toString(36)}`,
    ts: 0,
    from: { platform: 'teams', id: `29:1a2b3c4d-5e6f-7a8b-9c0d-${String(i % 997).padStart(12, '0')}`, domain: 'parley.example' },
    to: { platform: 'xmpp', id: `user${i % 113}@partner.example`, domain: 'partner.example' },
    body: { blocks: [] },
  };
}

const formats: Record<string, (env: Envelope) => string> = {
  triple: (env) => `${env.from.platform}:${env.from.id}>${env.id}>${env.to.platform}:${env.to.id}`,
  digest: idempotencyKey,
};

function redisTicks(pid: number): number {
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(rest[11]) + Number(rest[12]);
}

const server = await ManagedRedis.temporary();
const redis = new Redis(server.url);
const pid = server.pid;
if (pid === undefined) throw new Error('mark-keys: no redis-server pid');
const results = new Map<string, { write: number[]; read: number[]; bytes: number[] }>();
let next = 0;
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, keyOf] of Object.entries(formats)) {
      const r = results.get(name) ?? { write: [], read: [], bytes: [] };
      results.set(name, r);
      const first = next;
      const memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
      let t = redisTicks(pid);
      for (let c = 0; c < CALLS; c++) {
        const keys = Array.from({ length: PER_CALL }, () => markKey(PREFIX, keyOf(envelope(next++))));
        await redis.eval(WRITE, keys.length, ...keys, '604800');
      }
      r.write.push(((redisTicks(pid) - t) * 10_000) / (CALLS * PER_CALL));
      r.bytes.push((Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]) - memBefore) / (CALLS * PER_CALL));
      next = first;
      t = redisTicks(pid);
      for (let c = 0; c < CALLS; c++) {
        const keys = Array.from({ length: PER_CALL }, () => markKey(PREFIX, keyOf(envelope(next++))));
        await redis.eval(READ, keys.length, ...keys);
      }
      r.read.push(((redisTicks(pid) - t) * 10_000) / (CALLS * PER_CALL));
      await redis.flushall();
    }
  }
} finally {
  redis.disconnect();
  await server.stop();
}

const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' / ');
console.log(`\nDelivered marks: ${ROUNDS} rounds of ${CALLS * PER_CALL} marks, ${PER_CALL} per script call (redis-server CPU per mark, µs; memory per mark, B)\n`);
printTable(
  ['key', 'example', 'write µs', 'read µs', 'bytes'],
  Object.entries(formats).map(([name, keyOf]) => {
    const r = results.get(name);
    return [name, markKey(PREFIX, keyOf(envelope(1))), fmt(r?.write ?? []), fmt(r?.read ?? []), fmt(r?.bytes ?? []).replace(/\.00/g, '')];
  }),
);
