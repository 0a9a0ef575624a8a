-- alert: notifications that go out once, for rules.
--
-- local alert = use("alert")
-- alert.once{ kind = "contract_ending", about = "12:2026-03-12", employee_id = 7,
--             roles = { "coordinator" }, staff = { 4 }, referents = { "cip" }, message = "..." }
--
-- Queues one notification per role in `roles` and per staff account in
-- `staff`, each with the dedup key "<kind>:<about>:<recipient>": when the
-- rule sees the same thing again (the next day, after a restart), nothing
-- new is queued. Returns how many were queued now. The notifications of one
-- kind and about are one alert (its recipients: the roles' active accounts
-- and the staff accounts), which alert.resolve or a pass's finish resolves.
local alert = {}

function alert.once(a)
  assert(type(a) == "table", "alert.once{...}")
  assert(type(a.kind) == "string", "alert.once: kind is required")
  assert(a.about ~= nil, "alert.once: about (what the alert is about) is required")
  local about = tostring(a.about)
  local queued = 0
  local roles, staff = {}, {}
  for _, r in ipairs(a.roles or {}) do roles[#roles + 1] = r end
  for _, id in ipairs(a.staff or {}) do staff[#staff + 1] = id end
  -- referents = { "cip", "eti" }: the person's referent of each kind (every
  -- account of that role when the person has none, or it is not active).
  if a.referents then
    assert(a.employee_id, "alert.once: referents needs employee_id")
    local r = view("referents.v1", { employee_id = a.employee_id })[1] or {}
    for _, kind in ipairs(a.referents) do
      assert(kind == "cip" or kind == "eti", "alert.once: referents are \"cip\" or \"eti\"")
      local id = r["referent_" .. kind .. "_id"]
      if id then staff[#staff + 1] = id else roles[#roles + 1] = kind end
    end
  end
  for _, role in ipairs(roles) do
    if notify { kind = a.kind, recipient_role = role, employee_id = a.employee_id,
                message = a.message, dedup_key = a.kind .. ":" .. about .. ":" .. role } then
      queued = queued + 1
    end
  end
  for _, id in ipairs(staff) do
    if notify { kind = a.kind, recipient_staff_id = id, employee_id = a.employee_id,
                message = a.message,
                dedup_key = a.kind .. ":" .. about .. ":staff" .. tostring(id) } then
      queued = queued + 1
    end
  end
  return queued
end

-- The alert of kind and about is resolved: its cause is gone. Returns
-- whether one was open.
function alert.resolve(kind, about)
  return resolve(kind .. ":" .. tostring(about)) > 0
end

-- A rule's pass over what it checks: every alert of `kind` the pass raises
-- (or raised before and still sees) with p:once{...}, then p:finish()
-- resolves the rule's other open alerts of that kind, whose cause is gone.
--
-- local p = alert.pass("contract_ending")
-- for _, c in ipairs(rows) do p:once{ about = c.contract_id, ... } end
-- p:finish()   --> how many were resolved
function alert.pass(kind)
  assert(type(kind) == "string", "alert.pass(kind)")
  local seen, queued = {}, 0
  local pass = {}
  function pass:once(a)
    assert(type(a) == "table" and a.about ~= nil, "pass:once: about is required")
    seen[#seen + 1] = kind .. ":" .. tostring(a.about)
    local copy = {}
    for k, v in pairs(a) do copy[k] = v end
    copy.kind = kind
    local n = alert.once(copy)
    queued = queued + n
    return n
  end
  function pass:queued() return queued end
  function pass:finish()
    return resolve { prefix = kind .. ":", keep = seen }
  end
  return pass
end

-- The last day of a period of n months from d (DOMAIN.md, pass_rules.h):
-- the day before the same day n months later, or the last day of that
-- month when it has no such day. ("2026-03-02", 1) -> "2026-04-01".
function alert.period_end(d, n)
  local y, m, day = string.match(d, "^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  assert(y, "alert.period_end: not a date: " .. tostring(d))
  y, m, day = tonumber(y), tonumber(m) + n, tonumber(day)
  y = y + (m - 1) // 12
  m = (m - 1) % 12 + 1
  local last = date.days_between(string.format("%04d-%02d-01", y, m),
    date.add_days(string.format("%04d-%02d-28", y, m), 4):sub(1, 8) .. "01")
  if day > last then
    return string.format("%04d-%02d-%02d", y, m, last)
  end
  return date.add_days(string.format("%04d-%02d-%02d", y, m, day), -1)
end

-- Whom a rule about a person tells: the referent CIP when there is one,
-- every CIP otherwise; with `also` (a list of roles).
function alert.to_cip(referent_cip_id, also)
  local roles = {}
  for _, r in ipairs(also or {}) do roles[#roles + 1] = r end
  if referent_cip_id then
    return roles, { referent_cip_id }
  end
  roles[#roles + 1] = "cip"
  return roles, nil
end

-- "dans 10 jours", "demain", "aujourd'hui"; "il y a 3 jours" for the past.
function alert.when_fr(today, d)
  local left = date.days_between(today, d)
  if left == 0 then return "aujourd'hui" end
  if left == 1 then return "demain" end
  if left > 1 then return string.format("dans %d jours", left) end
  if left == -1 then return "hier" end
  return string.format("il y a %d jours", -left)
end

-- A rule on a plugin's data needs its view: when the plugin is not loaded
-- the rule stops loading with that reason (GET /v1/plugins shows it in the
-- script's last_error) and starts at the next reload once it is there.
function alert.needs_view(name, plugin, params)
  local ok, why = pcall(view, name, params)
  if ok then return end
  if string.find(tostring(why), "no view named", 1, true) then
    error(string.format("needs the %s plugin, which is not loaded (no view %s): the rule " ..
      "stays off until it is loaded and the scripts are reloaded", plugin, name), 0)
  end
  error(why, 0)
end

-- The referent CIP of a person (nil when none, or not active).
function alert.referent_cip(employee_id)
  local r = view("referents.v1", { employee_id = employee_id })[1]
  return r and r.referent_cip_id
end

-- "2026-03-12" -> "12/03/2026", as dates are written in French.
function alert.date_fr(d)
  local y, m, day = string.match(d, "^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  assert(y, "alert.date_fr: not a date: " .. tostring(d))
  return day .. "/" .. m .. "/" .. y
end

return alert
