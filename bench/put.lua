-- wrk script: PUT /kv of a random key among 100,000 with a 100-byte value.
-- wrk -t2 -c16 -d10s -s bench/put.lua http://127.0.0.1:8101
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
local v = string.rep("v", 100)
request = function()
  local k = "key-" .. math.random(1, 100000)
  return wrk.format(nil, "/kv", nil, '{"key":"' .. k .. '","value":"' .. v .. '"}')
end
