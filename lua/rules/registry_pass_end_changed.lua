-- registry_pass_end_changed: the national platform changed a PASS IAE's end -> the referent CIP
--
-- The rule (DOMAIN.md, "Alerts people expect"): the registry plugin
-- publishes registry.pass_end_changed (ids only: employee_id, pass_id,
-- proposal_id) when the platform reports a new end date -> the person's
-- referent CIP (every CIP when none is set), to check and accept or refuse
-- the proposal.
--
-- When: on each event (durable cursor: none is missed while the daemon is
-- down). Without the registry plugin the rule does not load and says why
-- (GET /v1/plugins): it declares the plugin's view registry.pass_proposals.v1.
-- Once: one alert per proposal. Staff resolve it once the proposal is
-- handled.
--
-- Configuration:
--   scripts = { registry_pass_end_changed = { role = "coordinator" } }

local alert = use("alert")

view("referents.v1", { employee_id = 1 })
alert.needs_view("registry.pass_proposals.v1", "registry", { employee_id = 1 })

on("registry.pass_end_changed", function(event)
  local p = event.payload
  if math.type(p.employee_id) ~= "integer" or math.type(p.pass_id) ~= "integer" or
     p.proposal_id == nil then
    log("warning", "registry.pass_end_changed " .. tostring(event.id) .. " without its ids: skipped")
    return
  end
  local who = view("referents.v1", { employee_id = p.employee_id })[1]
  if not who then
    log("info", "registry.pass_end_changed " .. tostring(event.id) .. ": no such person any more")
    return
  end
  local roles, staff = alert.to_cip(who.referent_cip_id)
  alert.once {
    kind = "registry_pass_end_changed", about = tostring(p.proposal_id),
    employee_id = p.employee_id, roles = roles, staff = staff,
    message = string.format(
      "La Plateforme de l'inclusion signale une nouvelle date de fin pour le PASS IAE n°%d " ..
      "(salarié n°%d). Merci de vérifier la proposition et d'y répondre.",
      p.pass_id, p.employee_id),
  }
end)
