-- Imported records are another system's history: the importers now store them closed. Rows
-- imported before, which landed as 'received', left the live queue, the map and the overdue
-- alerts full of old calls; close the ones nobody has acted on (no unit was ever assigned).
UPDATE incidents i SET state = 'closed', updated_at = now()
WHERE i.source = 'import' AND i.state = 'received'
  AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.incident = i.id);
