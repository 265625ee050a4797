import { RedisScript } from '../state/script.ts';

/** At most this many keys go to one MGET inside the script (Lua's `unpack` stops near 8,000). */
const MGET_CHUNK = 1_000;

/**
 * One shard commit as one script call: BullMQ's own job-adding script runs
 * once per job (its source wrapped in a function, so the job is written by
 * the pinned BullMQ's code), then the actor states are stored, only if every
 * job was, then the fast path's idempotency marks are read. Before, this
 * was a MULTI of one script per job, a script for the states and an MGET:
 * five commands and a transaction per commit, which at a few messages per
 * commit cost more than the messages themselves.
 *
 * With a fast path it also takes back the delayed-job markers the job script
 * just set: they would wake the consumer for jobs the fast path delivers, and
 * the consumer looks at delayed jobs at least every `drainDelay` anyway.
 *
 * KEYS: markers, then each job's keys, then state keys, then mark keys.
 * ARGV: markers, jobs, keys per job, args per job, ttl, mark count, then each
 * job's args, then the state values.
 * Returns the marks read (null where an item is not marked).
 */
export function commitScript(jobScriptLua: string): RedisScript {
  return new RedisScript(`
local function addJob(KEYS, ARGV)
${jobScriptLua}
end
local markers = tonumber(ARGV[1])
local jobs = tonumber(ARGV[2])
local keysPerJob = tonumber(ARGV[3])
local argsPerJob = tonumber(ARGV[4])
local ttl = ARGV[5]
local marks = tonumber(ARGV[6])
local k = markers
local a = 6
for j = 1, jobs do
  local jobKeys = {}
  for i = 1, keysPerJob do jobKeys[i] = KEYS[k + i] end
  local jobArgs = {}
  for i = 1, argsPerJob do jobArgs[i] = ARGV[a + i] end
  local result = addJob(jobKeys, jobArgs)
  if type(result) == 'number' and result < 0 then
    return redis.error_reply('ERR job ' .. j .. ' of the commit was not stored: BullMQ code ' .. result)
  end
  k = k + keysPerJob
  a = a + argsPerJob
end
for i = 1, markers do redis.call('ZREM', KEYS[i], '1') end
local states = #ARGV - a
for i = 1, states do redis.call('SET', KEYS[k + i], ARGV[a + i], 'EX', ttl) end
k = k + states
local out = {}
local first = k + 1
local last = k + marks
while first <= last do
  local upto = math.min(last, first + ${MGET_CHUNK - 1})
  local got = redis.call('MGET', unpack(KEYS, first, upto))
  for i = 1, #got do out[#out + 1] = got[i] end
  first = upto + 1
end
return out`);
}
