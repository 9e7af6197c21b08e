-- wrk script: POST /ceramic-cache/stamps/bulk with one of the seeded POST payloads, at random.
-- BENCH_POSTS names a file of lines "<JWT of the address>\t<JSON body>" (bench/run.py writes it).
local path = os.getenv("BENCH_POSTS")
local requests = {}

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  for line in io.lines(path) do
    local token, body = line:match("^([^\t]+)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", "/ceramic-cache/stamps/bulk",
      {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
  end
end

request = function()
  return requests[math.random(1, #requests)]
end
