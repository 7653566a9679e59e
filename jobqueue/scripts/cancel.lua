--! uses archive
-- Cancel a queued job, or a running job of the interruptible queue (it stops at its next chunk).
-- keys: job, running, queued, jobs_counter, archive
-- args: job_id, finished_at, channel, interruptible_queue, hold_s
local A = cjson.decode(ARGV[1])
local K = A.keys
local status = redis.call('HGET', K.job, 'status')
if not status then return 'missing' end
local interruptible = status == 'running' and redis.call('HGET', K.job, 'queue') == A.interruptible_queue
if status ~= 'queued' and not interruptible then return status end
redis.call('HSET', K.job, 'status', 'canceled', 'finished_at', A.finished_at)
-- A job that holds a one-at-a-time mark (a model's training) releases it as it ends.
local mark = redis.call('HGET', K.job, 'mark')
if mark and redis.call('GET', mark) == A.job_id then redis.call('DEL', mark) end
redis.call('ZREM', K.running, A.job_id)
redis.call('ZREM', K.queued, A.job_id)
local info = redis.call('HMGET', K.job, 'model', 'task')
redis.call('HINCRBY', K.jobs_counter, info[1] .. '|' .. info[2] .. '|canceled', 1)
redis.call('PUBLISH', A.channel, 'canceled')
archive_later(K.archive, K.job, A.job_id, A.hold_s)
if redis.call('HEXISTS', K.job, 'callback_url') == 1 then return 'callback' end
return 'ok'
