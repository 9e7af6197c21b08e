-- wrk script: GET /v2/stamps/{scorer}/score/{address} for a random seeded address.
-- Set via environment: BENCH_SCORER, BENCH_API_KEY, BENCH_ADDRESSES.
local scorer = os.getenv("BENCH_SCORER")
local key = os.getenv("BENCH_API_KEY")
local count = tonumber(os.getenv("BENCH_ADDRESSES"))

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  local path = string.format("/v2/stamps/%s/score/0x%040x", scorer, math.random(1, count))
  return wrk.format("GET", path, {["X-API-KEY"] = key})
end
