-- Mail sent outside each person's working hours.
--
-- A person's working hours (days, start and end time) are local times in
-- the time zone of their mailbox settings (outlook_mail_mailbox_settings;
-- outlook_cal_mailbox_settings holds the same). Exchange names zones the
-- Windows way ("W. Europe Standard Time"), so the windows_zones table
-- (windows_zones.sql, from CLDR's windowsZones mapping) gives the IANA
-- zone DuckDB needs; a zone already in IANA form is used as it is. Each
-- sent message's time is converted to the sender's local time, with that
-- zone's daylight saving time on that day. People without mailbox settings
-- are left out.
WITH settings AS (
  SELECT
    s._owner AS person,
    coalesce(s.workingHours.timeZone.name, s.timeZone) AS zone,
    s.workingHours.daysOfWeek                           AS days,
    CAST(left(s.workingHours.startTime, 8) AS TIME)     AS day_start,
    CAST(left(s.workingHours.endTime, 8) AS TIME)       AS day_end
  FROM outlook_mail_mailbox_settings s
  QUALIFY row_number() OVER (PARTITION BY s._owner ORDER BY s._exported_at DESC) = 1
),
zoned AS (
  SELECT st.*, coalesce(z.iana, st.zone) AS iana
  FROM settings st
  LEFT JOIN windows_zones z ON z.windows_name = st.zone
),
sent AS (
  SELECT m._owner AS person, timezone(z.iana, m.sentDateTime) AS local_time, z.days, z.day_start, z.day_end
  FROM messages m
  JOIN zoned z ON z.person = m._owner
)
SELECT
  person,
  count(*) AS sent,
  count(*) FILTER (WHERE NOT list_contains(days, lower(dayname(local_time)))
                      OR CAST(local_time AS TIME) < day_start
                      OR CAST(local_time AS TIME) >= day_end) AS sent_outside_hours
FROM sent
GROUP BY ALL
ORDER BY person;
