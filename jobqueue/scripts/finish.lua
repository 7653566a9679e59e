--! uses metrics archive
-- Record a running job's outcome, unless another one was recorded first (that one stands), count it,
-- publish the final record so a waiting request needs no read of its own, and hand it to the archiver.
-- keys: job, running, queued, jobs_counter, duration_histogram, rates (queue -> this minute's rate hash), archive
-- args: job_id, status, finished_at, result, error (JSON texts), channel, now_s, slot_share
--       (the share of the pool slot's time this job had), duration_buckets, rate_ttl_s, hold_s
local A = cjson.decode(ARGV[1])
local K = A.keys
redis.call('ZREM', K.running, A.job_id)
redis.call('ZREM', K.queued, A.job_id)
local status = redis.call('HGET', K.job, 'status')
if not status then return 'missing' end
if status == 'succeeded' or status == 'failed' or status == 'canceled' then return status end
redis.call('HSET', K.job, 'status', A.status, 'finished_at', A.finished_at, 'result', A.result, 'error', A.error)
-- A job that holds a one-at-a-time mark (a model's training) releases it as it ends.
local mark = redis.call('HGET', K.job, 'mark')
if mark and redis.call('GET', mark) == A.job_id then redis.call('DEL', mark) end
if A.status == 'succeeded' then
  redis.call('HSET', K.job, 'progress_done', redis.call('HGET', K.job, 'progress_total'))
end
local info = redis.call('HMGET', K.job, 'model', 'task', 'queue', 'started_s')
redis.call('HINCRBY', K.jobs_counter, info[1] .. '|' .. info[2] .. '|' .. A.status, 1)
local busy = 0
if info[4] then
  busy = math.max(0, tonumber(A.now_s) - tonumber(info[4]))
  observe(K.duration_histogram, info[3] .. '|' .. info[1] .. '|' .. info[2], busy, A.duration_buckets)
end
-- Jobs scored together in one micro-batch each ran the whole batch, but shared one pool slot.
count_rate(K.rates[info[3]], 'finished', busy * A.slot_share, A.rate_ttl_s)
local flat, record = redis.call('HGETALL', K.job), {}
for i = 1, #flat, 2 do record[flat[i]] = flat[i + 1] end
redis.call('PUBLISH', A.channel, cjson.encode(record))
archive_later(K.archive, K.job, A.job_id, A.hold_s)
if record['callback_url'] then return 'callback' end
return 'ok'
