-- Plan a running job's chunks, or find where its plan stands (the job was sent again): the chunks
-- to send now. At most ``in_flight`` chunks of one job wait or run at once: its share of the
-- heavy processes, so other heavy jobs get theirs.
-- keys: job, fanout; args: total (chunks), rows, in_flight, ttl_s, chunk_prefix
local A = cjson.decode(ARGV[1])
local K = A.keys
if redis.call('HGET', K.job, 'status') ~= 'running' then return {'stopped'} end
local send = {}
if redis.call('EXISTS', K.fanout) == 1 then
  -- Resuming: every chunk handed on but not recorded is sent again (a duplicate is recorded once).
  local next = tonumber(redis.call('HGET', K.fanout, 'next'))
  for i = 0, next - 1 do
    if redis.call('EXISTS', A.chunk_prefix .. i) == 0 then send[#send + 1] = i end
  end
  return {'resumed', unpack(send)}
end
local first = math.min(A.in_flight, A.total)
redis.call('HSET', K.fanout, 'total', A.total, 'rows', A.rows, 'next', first, 'done', 0, 'rows_done', 0)
redis.call('EXPIRE', K.fanout, A.ttl_s)
redis.call('HSET', K.job, 'progress_done', 0, 'progress_total', A.rows)
for i = 0, first - 1 do send[#send + 1] = i end
return {'planned', unpack(send)}
