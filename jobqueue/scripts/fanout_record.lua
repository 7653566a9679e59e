-- Record one chunk's outcome, once: the first recording counts; a chunk computed twice (its worker
-- lost, its message redelivered) is not counted again. Hands on the next chunk not yet sent, so
-- the job keeps its chunks in flight, and counts the job's progress.
-- keys: job, fanout, chunk, running; args: job_id, chunk, rows, sums (JSON), now_s, ttl_s
-- Returns {state, chunk to send next (-1: none)}; state is ok, complete (every chunk recorded),
-- duplicate or stopped (the job was canceled or ended meanwhile).
local A = cjson.decode(ARGV[1])
local K = A.keys
if redis.call('HGET', K.job, 'status') ~= 'running' or redis.call('EXISTS', K.fanout) == 0 then
  return {'stopped', -1}
end
if redis.call('EXISTS', K.chunk) == 1 then
  -- Redelivered after it was recorded: hand on again what it handed on (its sender may have died
  -- before sending), and complete again if every chunk is in (the completer may have died).
  local again = tonumber(redis.call('HGET', K.fanout, 'handoff:' .. A.chunk) or -1)
  if redis.call('HGET', K.fanout, 'done') == redis.call('HGET', K.fanout, 'total') then
    return {'complete', again}
  end
  return {'duplicate', again}
end
redis.call('SET', K.chunk, A.sums, 'EX', A.ttl_s)
local done = redis.call('HINCRBY', K.fanout, 'done', 1)
local rows_done = redis.call('HINCRBY', K.fanout, 'rows_done', A.rows)
redis.call('HSET', K.job, 'progress_done', rows_done)
-- Progress, not the start, is what the reaper measures a fanned-out job's life by.
redis.call('ZADD', K.running, 'XX', A.now_s, A.job_id)
local total = tonumber(redis.call('HGET', K.fanout, 'total'))
local next = tonumber(redis.call('HGET', K.fanout, 'next'))
local handoff = -1
if next < total then
  handoff = next
  redis.call('HSET', K.fanout, 'next', next + 1)
end
redis.call('HSET', K.fanout, 'handoff:' .. A.chunk, handoff)
if done == total then return {'complete', handoff} end
return {'ok', handoff}
