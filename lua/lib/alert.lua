-- alert: notifications that go out once, for rules.
--
-- local alert = use("alert")
-- alert.once{ kind = "contract_ending", about = "12:2026-03-12", employee_id = 7,
--             roles = { "coordinator" }, staff = { 4 }, message = "..." }
--
-- Queues one notification per role in `roles` and per staff account in
-- `staff`, each with the dedup key "<kind>:<about>:<recipient>": when the
-- rule sees the same thing again (the next day, after a restart), nothing
-- new is queued. Returns how many were queued now.
local alert = {}

function alert.once(a)
  assert(type(a) == "table", "alert.once{...}")
  assert(type(a.kind) == "string", "alert.once: kind is required")
  assert(a.about ~= nil, "alert.once: about (what the alert is about) is required")
  local about = tostring(a.about)
  local queued = 0
  for _, role in ipairs(a.roles or {}) do
    if notify { kind = a.kind, recipient_role = role, employee_id = a.employee_id,
                message = a.message, dedup_key = a.kind .. ":" .. about .. ":" .. role } then
      queued = queued + 1
    end
  end
  for _, id in ipairs(a.staff or {}) do
    if notify { kind = a.kind, recipient_staff_id = id, employee_id = a.employee_id,
                message = a.message,
                dedup_key = a.kind .. ":" .. about .. ":staff" .. tostring(id) } then
      queued = queued + 1
    end
  end
  return queued
end

-- "2026-03-12" -> "12/03/2026", as dates are written in French.
function alert.date_fr(d)
  local y, m, day = string.match(d, "^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  assert(y, "alert.date_fr: not a date: " .. tostring(d))
  return day .. "/" .. m .. "/" .. y
end

return alert
