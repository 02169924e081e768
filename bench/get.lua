-- wrk script: GET /kv of a random key among 100,000 (404s for keys never written count as answers).
-- wrk -t2 -c16 -d10s -s bench/get.lua http://127.0.0.1:8101
request = function()
  return wrk.format("GET", "/kv?key=key-" .. math.random(1, 100000))
end
