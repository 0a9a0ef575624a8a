-- absences_unjustified: repeated unjustified absences -> the referent CIP
--
-- The rule (DOMAIN.md, "Alerts people expect"): `threshold` unjustified
-- absences (2 by default) within `window_days` days (14) -> the person's
-- referent CIP is told, so that the pathway looks into it before it becomes
-- a dismissal.
--
-- When: once a day on the Europe/Paris calendar, and at once the first time.
-- What it reads: production.absences.v1 (the production plugin's view; the
-- rule says so and stops when the plugin is not loaded) and referents.v1,
-- so its role must read attendance: coordinator, cip or eti.
-- Whom it tells: the referent CIP when the account is active, otherwise
-- every CIP, by role.
-- Once: the dedup key names the person and the day of the absence that
-- reached the threshold, so a run the next day queues nothing for the same
-- absences, and a later series is announced again.
-- The message says who and what, never a name.
--
-- Configuration:
--   scripts = { absences_unjustified = { role = "coordinator",
--               options = { threshold = 2, window_days = 14 } } }

local alert = use("alert")

local threshold = options.threshold or 2
if math.type(threshold) ~= "integer" or threshold < 1 or threshold > 50 then
  error("options.threshold: expected an integer from 1 to 50, got " ..
        tostring(options.threshold))
end
local window = options.window_days or 14
if math.type(window) ~= "integer" or window < 1 or window > 365 then
  error("options.window_days: expected an integer from 1 to 365, got " ..
        tostring(options.window_days))
end

-- Without the production plugin its view does not exist: say so once and stay idle.
local ok, why = pcall(view, "production.absences.v1", { from = date.today(), to = date.today() })
if not ok then
  log("warning", "production.absences.v1 cannot be read (" .. tostring(why) ..
      "): the rule is idle")
  return
end

local function check()
  local today = date.today()
  local from = date.add_days(today, 1 - window)
  local by_person = {}
  for _, a in ipairs(view("production.absences.v1", { from = from, to = today })) do
    if a.reason == "unjustified" then
      local list = by_person[a.employee_id] or {}
      list[#list + 1] = a.date
      by_person[a.employee_id] = list
    end
  end
  local queued = 0
  for employee_id, days in pairs(by_person) do
    if #days >= threshold then
      table.sort(days)
      local refs = view("referents.v1", { employee_id = employee_id })[1] or {}
      local cip = refs.referent_cip_id
      queued = queued + alert.once {
        kind = "absences_unjustified",
        about = employee_id .. ":" .. days[threshold],
        employee_id = employee_id,
        roles = not cip and { "cip" } or nil,
        staff = cip and { cip } or nil,
        message = string.format(
          "Le salarié n°%d compte %d absences injustifiées en %d jours (du %s au %s). " ..
          "Merci de faire le point avec lui.", employee_id, #days, window,
          alert.date_fr(days[1]), alert.date_fr(days[#days])),
      }
    end
  end
  if queued > 0 then
    log("info", string.format("%d notification(s) of unjustified absences queued", queued))
  end
end

every("1d", check, { name = "daily", immediately = true })
