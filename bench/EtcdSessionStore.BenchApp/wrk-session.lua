-- wrk script for the session benchmark. Arguments after `--`: cookie file, thread count, method, path.
-- Thread i takes every n-th cookie of the file and cycles through them, so the requests a thread has in
-- flight at once belong to different pre-made sessions. done() prints one JSON line for the driver.
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

function init(args)
  local count = tonumber(args[2])
  wrk.method = args[3]
  wrk.path = args[4]
  if wrk.method == "POST" then wrk.body = "" end
  cookies = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % count == index then table.insert(cookies, line) end
    i = i + 1
  end
  nextCookie = 1
end

function request()
  local cookie = cookies[nextCookie]
  nextCookie = nextCookie % #cookies + 1
  return wrk.format(nil, nil, { ["Cookie"] = cookie }, wrk.body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"socketErrors":%d,"statusErrors":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
