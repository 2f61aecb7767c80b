-- wrk script of bench/api_bench.py and bench/gateway_bench.py (the same requests go to both servers compared).
--   wrk ... -s bench/wrk_api.lua URL -- MODE TOKEN IDS_FILE PREFIX
-- MODE "get":  GET /api/v1/clients/<id>, cycling through the ids in IDS_FILE (one per line).
-- MODE "post": POST /api/v1/clients with a unique tax_id and e-mail per request (PREFIX is unique per
--              run, each wrk thread adds its number and a counter), so no request is a duplicate (409).
-- done() prints one line "WRK_JSON {...}" with the counts and latency percentiles in microseconds.

local threads_made = 0

function setup(thread)
  threads_made = threads_made + 1
  thread:set("tid", threads_made)
end

function init(args)
  mode, token, ids_file, prefix = args[1], args[2], args[3], args[4]
  n = 0
  headers = {["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json"}
  ids = {}
  if mode == "get" then
    for line in io.lines(ids_file) do
      if #line > 0 then ids[#ids + 1] = line end
    end
  else
    headers["Content-Type"] = "application/json"
  end
end

function request()
  n = n + 1
  if mode == "get" then
    return wrk.format("GET", "/api/v1/clients/" .. ids[(n + tid * 31) % #ids + 1], headers)
  end
  local u = prefix .. "-" .. tid .. "-" .. n
  local body = string.format(
    '{"name":"Bench %s LLC","kind":"company","tax_id":"%s","industry":"Wholesale","region":"North-West",' ..
    '"address":"12 Harbour St, St Petersburg","phone":"+7 812 555-01-01","email":"b.%s@bench.example",' ..
    '"website":"https://bench.example","source_channel":"website","rating":"B",' ..
    '"notes":"Created by bench/api_bench.py"}', u, u, u)
  return wrk.format("POST", "/api/v1/clients", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
