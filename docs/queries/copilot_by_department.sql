-- Copilot use by department.
--
-- For each department (users.department of the latest snapshot; "(none)"
-- when empty): how many people it has, how many used Microsoft 365 Copilot
-- in the exported window (had an interaction), the share of them, and how
-- many prompts they wrote (interactionType userPrompt; Copilot's answers
-- are aiResponse rows).
WITH people AS (
  SELECT id, coalesce(nullif(department, ''), '(none)') AS department
  FROM users
  QUALIFY row_number() OVER (PARTITION BY id ORDER BY _exported_at DESC) = 1
),
use AS (
  SELECT _owner AS person, count(*) FILTER (WHERE interactionType = 'userPrompt') AS prompts
  FROM copilot_interactions
  GROUP BY ALL
)
SELECT
  p.department,
  count(*)                                   AS people,
  count(u.person)                            AS copilot_users,
  round(count(u.person) / count(*), 3)       AS adoption,
  coalesce(sum(u.prompts), 0)::BIGINT        AS prompts
FROM people p
LEFT JOIN use u ON u.person = p.id
GROUP BY ALL
ORDER BY department;
