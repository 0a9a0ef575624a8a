local alert = use('alert')
for _, e in ipairs({ 1, 2 }) do
  alert.once { kind = 'k', about = e, employee_id = e, referents = { 'cip', 'eti' }, message = 'Un message.' }
end
