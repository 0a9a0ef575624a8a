-- pass_ending: PASS IAE ending soon -> the referent CIP and the coordinator
--
-- The rule (DOMAIN.md, "Alerts people expect"): a person's PASS IAE ends in
-- 60 days or less -> their referent CIP (every CIP when none is set) and
-- the coordinators are told, so that a prolongation is asked for, or the
-- exit prepared, in time.
--
-- When: once a day, and at once the first time the rule runs.
-- What it reads: passes_ending.v1 (the current PASS of people in the
-- pathway, its end counting suspensions and prolongations), so its role
-- must read PASS dates: coordinator, cip or eti.
-- Once: one alert per PASS and end date; the next days add nothing.
-- Resolved by the rule: when a run no longer sees the PASS within the
-- window (prolonged past it, the person exited, the end passed).
--
-- Configuration:
--   scripts = { pass_ending = { role = "coordinator", options = { days = 60 } } }
-- options.days: an integer from 1 to 365 (60 when absent).

local alert = use("alert")

local days = options.days or 60
if math.type(days) ~= "integer" or days < 1 or days > 365 then
  error("options.days: expected an integer from 1 to 365, got " .. tostring(options.days))
end

-- A role that may not read PASS dates is a configuration error: say so now.
view("passes_ending.v1", { date = date.today(), days = 0 })

local function check()
  local today = date.today()
  local pass = alert.pass("pass_ending")
  for _, p in ipairs(view("passes_ending.v1", { date = today, days = days })) do
    local roles, staff = alert.to_cip(p.referent_cip_id, { "coordinator" })
    pass:once {
      about = p.pass_id .. ":" .. p.end_date,
      employee_id = p.employee_id,
      roles = roles,
      staff = staff,
      message = string.format(
        "Le PASS IAE du salarié n°%d se termine le %s (%s). Merci de préparer la suite " ..
        "du parcours (prolongation ou sortie).",
        p.employee_id, alert.date_fr(p.end_date), alert.when_fr(today, p.end_date)),
    }
  end
  local resolved = pass:finish()
  if pass:queued() > 0 or resolved > 0 then
    log("info", string.format("pass_ending: %d notification(s) queued, %d alert(s) resolved",
      pass:queued(), resolved))
  end
end

every("1d", check, { name = "daily", immediately = true })
