-- hours_below_contract: hours worked below the contract for weeks -> the coordinator
--
-- The rule (DOMAIN.md, "Alerts people expect"): a person worked fewer
-- hours than their contract's weekly hours in each of the last `weeks`
-- full weeks (3) -> the coordinators, to look at the planning with the
-- ETI and the person. The message gives no hours nor reason.
--
-- When: once a day, and at once the first time.
-- What it reads: production.hours_below_contract.v1 (the production
-- plugin's view); its role must read attendance: coordinator. Without the
-- production plugin the rule does not load, and says so in GET /v1/plugins.
-- Once: one alert per person and episode (the episode is named by its
-- first week below, so a later episode is told again).
-- Resolved by the rule: when the person is no longer below (a full week at
-- or above the contract's hours).
--
-- Configuration:
--   scripts = { hours_below_contract = { role = "coordinator", options = { weeks = 3 } } }
-- options.weeks: an integer from 1 to 12 (3).

local alert = use("alert")

local weeks = options.weeks or 3
if math.type(weeks) ~= "integer" or weeks < 1 or weeks > 12 then
  error("options.weeks: expected an integer from 1 to 12, got " .. tostring(options.weeks))
end

alert.needs_view("production.hours_below_contract.v1", "production",
  { date = date.today(), weeks = weeks })

local function check()
  local today = date.today()
  local monday = date.start_of_week(today)
  local pass = alert.pass("hours_below_contract")
  for _, r in ipairs(view("production.hours_below_contract.v1", { date = today, weeks = weeks })) do
    local first = date.add_days(monday, -7 * (r.weeks_below or weeks))
    pass:once {
      about = r.employee_id .. ":" .. first,
      employee_id = r.employee_id, roles = { "coordinator" },
      message = string.format(
        "Le salarié n°%d a travaillé moins que la durée de son contrat chacune des %d " ..
        "dernières semaines. Merci de faire le point sur son planning avec lui et son encadrant.",
        r.employee_id, r.weeks_below or weeks),
    }
  end
  local resolved = pass:finish()
  if pass:queued() > 0 or resolved > 0 then
    log("info", string.format("hours_below_contract: %d notification(s) queued, %d alert(s) " ..
      "resolved", pass:queued(), resolved))
  end
end

every("1d", check, { name = "daily", immediately = true })
