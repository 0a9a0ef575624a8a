-- contract_ending: contracts ending soon without an exit review -> CIP and coordinator
--
-- The rule (DOMAIN.md, "Alerts people expect"): a CDDI ends in 30 days or
-- less and no exit review (bilan de sortie) is scheduled -> the employee's
-- CIP and the coordinator are told, so that the exit is prepared in time.
--
-- When: once a day on the Europe/Paris calendar, and at once the first time
-- the rule runs (a missed day, the daemon being down, runs once at start).
-- What it reads: the view contracts_ending.v1 (contracts running today whose
-- end falls within `days` days, with whether an exit review is planned), so
-- its role must read contract dates: coordinator, cip or eti.
-- Whom it tells: the employee's referent CIP when one is set (otherwise
-- every CIP, by role) and the coordinators, by role.
-- Once: the dedup key names the contract and its end date, so a second run
-- queues nothing, and a contract renewed to a later end is announced again
-- when that end comes near. The CIP's and the coordinator's notifications
-- are one alert (GET /v1/alerts).
-- Resolved by the rule: when a daily run no longer sees the contract (an
-- exit review was planned, the contract was renewed, ended or is past).
-- The message says who and what to do, never why: the person as every
-- recipient (CIP, coordinator) may see them, first name and initial
-- ("Sabrina M.", the view's employee_display), never an id.
--
-- Configuration:
--   scripts = { contract_ending = { role = "coordinator", options = { days = 30 } } }
-- options.days: an integer from 1 to 365 (30 when absent).

local alert = use("alert")

local days = options.days or 30
if math.type(days) ~= "integer" or days < 1 or days > 365 then
  error("options.days: expected an integer from 1 to 365, got " .. tostring(options.days))
end

-- A role that may not read contract dates is a configuration error: say so now.
view("contracts_ending.v1", { date = date.today(), days = 0 })

local function when(left)
  if left == 0 then
    return "aujourd'hui"
  elseif left == 1 then
    return "demain"
  end
  return string.format("dans %d jours", left)
end

local function check()
  local today = date.today()
  local pass = alert.pass("contract_ending")
  for _, c in ipairs(view("contracts_ending.v1", { date = today, days = days })) do
    if not c.exit_review_planned then
      local message = string.format(
        "Le contrat de %s se termine le %s (%s) et aucun bilan de sortie " ..
        "n'est planifié. Merci de planifier le bilan de sortie.",
        c.employee_display, alert.date_fr(c.end_date),
        when(date.days_between(today, c.end_date)))
      local cip = c.referent_cip_id
      pass:once {
        about = c.contract_id .. ":" .. c.end_date,
        employee_id = c.employee_id,
        roles = cip and { "coordinator" } or { "cip", "coordinator" },
        staff = cip and { cip } or nil,
        message = message,
      }
    end
  end
  if pass:queued() > 0 then
    log("info", string.format("%d notification(s) of contracts ending queued", pass:queued()))
  end
  -- An exit review planned, a contract renewed, ended or past: its alert resolves.
  local resolved = pass:finish()
  if resolved > 0 then
    log("info", string.format("%d alert(s) of contracts ending resolved", resolved))
  end
end

every("1d", check, { name = "daily", immediately = true })
