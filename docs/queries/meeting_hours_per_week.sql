-- Meeting hours per person and week.
--
-- A meeting is an event on the person's own calendar (events._owner is
-- users.id) that is not cancelled, not all-day, shown as busy, tentative or
-- out of office (not free or working elsewhere), and has attendees (an
-- appointment with nobody else is not a meeting). Hours are the time
-- between start and end in UTC (start.utc, end.utc); weeks start on Monday
-- in UTC. A meeting that overlaps another is counted in full twice.
SELECT
  e._owner                                            AS person,
  CAST(date_trunc('week', timezone('UTC', e.start.utc)) AS DATE) AS week,
  count(*)                                            AS meetings,
  round(sum(epoch(e."end".utc - e.start.utc)) / 3600.0, 2) AS hours
FROM events e
WHERE NOT coalesce(e.isCancelled, false)
  AND NOT coalesce(e.isAllDay, false)
  AND coalesce(e.showAs, 'busy') NOT IN ('free', 'workingElsewhere')
  AND len(e.attendees) > 0
GROUP BY ALL
ORDER BY person, week;
