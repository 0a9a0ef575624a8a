-- safety_incident: a safety incident on a work site -> the coordinator, and the CIP when someone was hurt
--
-- The rule (DOMAIN.md, "Alerts people expect"): every incident or near miss
-- the production plugin records -> the coordinators; when a person was
-- hurt, an alert about them goes to the coordinators and their referent
-- CIP (every CIP when none is set). Never what happened to the person: the
-- message says an incident happened and what to do.
--
-- When: every hour (options.every, e.g. "15m"), and at once the first time.
-- What it reads: production.incidents.v1 (the production plugin's view)
-- for the last `days` days, and referents.v1; its role must read safety
-- data: coordinator. Without the production plugin the rule does not load,
-- and says so in GET /v1/plugins.
-- Once: one alert per incident (and per person hurt). Incidents do not go
-- away: staff resolve these alerts themselves.
--
-- Configuration:
--   scripts = { safety_incident = { role = "coordinator", options = { days = 7 } } }
-- options.days: how far back to look, 1 to 60 (7); options.every ("1h").

local alert = use("alert")

local days = options.days or 7
if math.type(days) ~= "integer" or days < 1 or days > 60 then
  error("options.days: expected an integer from 1 to 60, got " .. tostring(options.days))
end
local period = options.every or "1h"

alert.needs_view("production.incidents.v1", "production", { since = date.today() })

local function check()
  local since = date.add_days(date.today(), -days)
  local queued = 0
  for _, i in ipairs(view("production.incidents.v1", { since = since })) do
    local what = i.kind == "near_miss" and "Un presque-accident" or "Un incident de sécurité"
    local who = i.hurt_employee_id and view("referents.v1", { employee_id = i.hurt_employee_id })[1]
    if who then
      local roles, staff = alert.to_cip(who.referent_cip_id, { "coordinator" })
      queued = queued + alert.once {
        kind = "safety_incident", about = i.incident_id .. ":" .. i.hurt_employee_id,
        employee_id = i.hurt_employee_id, roles = roles, staff = staff,
        message = string.format(
          "%s (n°%d, le %s) a touché le salarié n°%d. Merci de prendre de ses nouvelles et " ..
          "de vérifier les déclarations à faire.", what, i.incident_id,
          alert.date_fr(i.occurred_on), i.hurt_employee_id),
      }
    else
      queued = queued + alert.once {
        kind = "safety_incident", about = i.incident_id, roles = { "coordinator" },
        message = string.format("%s (n°%d) a été enregistré le %s. Merci d'en prendre " ..
          "connaissance.", what, i.incident_id, alert.date_fr(i.occurred_on)),
      }
    end
  end
  if queued > 0 then
    log("info", string.format("%d notification(s) of safety incidents queued", queued))
  end
end

every(period, check, { name = "check", immediately = true })
