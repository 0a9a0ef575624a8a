-- skills_stale: no skill evaluated for 6 weeks -> the person's referent ETI
--
-- The rule (issue 12, "a person's progression"): a person under contract
-- whose last evaluation in work situation is more than `weeks` weeks old
-- (or who was never evaluated since their contract started that long ago)
-- -> their referent ETI is told, so that an evaluation is planned; without
-- a referent ETI, every ETI (by role).
--
-- When: once a day on the Europe/Paris calendar, and at once the first time
-- the rule runs.
-- What it reads: the view skills.stale.v1 of the skills plugin (so the
-- plugin must be loaded: without it the rule fails at load and says so),
-- which shows evaluations: its role is eti, cip or coordinator.
-- Once: the dedup key names the person and their last evaluation's date,
-- so a second run queues nothing, and a person evaluated since and stale
-- again is announced again.
-- The message says who and what to do, never a level or a name.
--
-- Configuration:
--   scripts = { skills_stale = { role = "coordinator", options = { weeks = 6 } } }
-- options.weeks: an integer from 1 to 52 (6 when absent).

local alert = use("alert")

local weeks = options.weeks or 6
if math.type(weeks) ~= "integer" or weeks < 1 or weeks > 52 then
  error("options.weeks: expected an integer from 1 to 52, got " .. tostring(options.weeks))
end

-- Without the skills plugin (or with a role that may not read evaluations), say so now.
local ok, err = pcall(view, "skills.stale.v1", { date = date.today(), weeks = weeks })
if not ok then
  error("needs the skills plugin's view skills.stale.v1: " .. tostring(err))
end

local function check()
  local queued = 0
  for _, p in ipairs(view("skills.stale.v1", { date = date.today(), weeks = weeks })) do
    local since
    if p.last_evaluated_on then
      since = "depuis le " .. alert.date_fr(p.last_evaluated_on)
    else
      since = "depuis le début de son contrat"
    end
    local eti = p.referent_eti_id
    queued = queued + alert.once {
      kind = "skills_stale",
      about = p.employee_id .. ":" .. (p.last_evaluated_on or "never"),
      employee_id = p.employee_id,
      roles = (not eti) and { "eti" } or nil,
      staff = eti and { eti } or nil,
      message = string.format(
        "Aucune compétence du salarié n°%d n'a été évaluée %s (plus de %d semaines). " ..
        "Merci de planifier une évaluation en situation de travail.",
        p.employee_id, since, weeks),
    }
  end
  if queued > 0 then
    log("info", string.format("%d notification(s) of skills not evaluated queued", queued))
  end
end

every("1d", check, { name = "daily", immediately = true })
