-- wrk script: every request carries fresh logs (repeating one body would measure the
-- duplicate path, not inserts). Arguments: BATCH KEY BASE_EPOCH DEVICE1 DEVICE2
-- Logs are in time order per thread: 1000 employees, one second per 1000 logs; each thread
-- starts 12 h after the previous one, so no two threads ever send the same log.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  batch = tonumber(args[1])
  base = tonumber(args[3]) + id * 43200
  devices = { args[4], args[5] }
  counter = 0
  failures = 0
  server_errors = 0
  last_t = -1
  last_stamp = ""
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = args[2]
end

local function stamp(t)
  if t ~= last_t then
    last_t = t
    last_stamp = os.date("!%Y-%m-%dT%H:%M:%S", t)
  end
  return last_stamp
end

function request()
  local parts = {}
  for i = 1, batch do
    local n = counter
    counter = counter + 1
    parts[i] = string.format(
      '{"DeviceIdentifier":"%s","EmployeeAttendanceNumber":"E%04d","Timestamp":"%s","Status":%d}',
      devices[(n % 2) + 1], n % 1000, stamp(base + math.floor(n / 1000)), math.floor(n / 1000) % 2)
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(parts, ",") .. "]")
end

function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    if failures == 1 then
      io.stderr:write(string.format("wrk: first non-200 answer: %d %s\n", status, body))
    end
  end
  if status >= 500 then
    server_errors = server_errors + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  local failed5 = 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("failures")
    failed5 = failed5 + thread:get("server_errors")
  end
  io.write(string.format("BENCH requests=%d non200=%d 5xx=%d errors=%d\n", summary.requests,
    failed, failed5,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
