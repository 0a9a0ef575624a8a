-- review_overdue: reviews (bilans) not held in time -> the referent CIP
--
-- The rule (DOMAIN.md, "Alerts people expect"): the entry review is held
-- within the first month of the pathway, then an intermediate review every
-- `intermediate_months` months (3 to 6, as the structure decides); one not
-- held in time -> the person's referent CIP (every CIP when none is set).
--
-- When: once a day, and at once the first time the rule runs.
-- What it reads: reviews_due.v1 (people under contract, the start of their
-- pathway, the dates of the last reviews held: never their content), so
-- its role must read review dates: coordinator, cip or eti.
-- Once: one alert per person and missed review (the entry review of a
-- pathway; the intermediate review after the last one held).
-- Resolved by the rule: when the review is held (its date recorded), the
-- contract ends, or the person exits.
--
-- Configuration:
--   scripts = { review_overdue = { role = "coordinator",
--                                  options = { intermediate_months = 3 } } }
-- options.intermediate_months: an integer from 3 to 6 (3 when absent).

local alert = use("alert")

local months = options.intermediate_months or 3
if math.type(months) ~= "integer" or months < 3 or months > 6 then
  error("options.intermediate_months: expected an integer from 3 to 6, got " ..
        tostring(options.intermediate_months))
end

view("reviews_due.v1", { date = date.today() })

local function check()
  local today = date.today()
  local pass = alert.pass("review_overdue")
  for _, r in ipairs(view("reviews_due.v1", { date = today })) do
    local roles, staff = alert.to_cip(r.referent_cip_id)
    local entry_held = r.entry_held_on and r.entry_held_on >= r.pathway_start
    if not entry_held then
      local due = alert.period_end(r.pathway_start, 1)
      if today > due then
        pass:once {
          about = r.employee_id .. ":entry:" .. r.pathway_start,
          employee_id = r.employee_id, roles = roles, staff = staff,
          message = string.format(
            "Le bilan d'entrée du salarié n°%d était à tenir au plus tard le %s. Merci de " ..
            "le tenir et d'en noter la date.", r.employee_id, alert.date_fr(due)),
        }
      end
    else
      local last = r.last_held_on
      local due = alert.period_end(last, months)
      if today > due then
        pass:once {
          about = r.employee_id .. ":intermediate:" .. last,
          employee_id = r.employee_id, roles = roles, staff = staff,
          message = string.format(
            "Le bilan intermédiaire du salarié n°%d était à tenir au plus tard le %s. " ..
            "Merci de le tenir et d'en noter la date.", r.employee_id, alert.date_fr(due)),
        }
      end
    end
  end
  local resolved = pass:finish()
  if pass:queued() > 0 or resolved > 0 then
    log("info", string.format("review_overdue: %d notification(s) queued, %d alert(s) resolved",
      pass:queued(), resolved))
  end
end

every("1d", check, { name = "daily", immediately = true })
