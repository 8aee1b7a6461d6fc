-- The mail network: who mails whom, as sender → recipient edges.
--
-- messages holds each person's sent items (_owner is the sender's users.id);
-- recipients (to, cc and bcc) are pseudonymized addresses, which equal the
-- pseudonymized users.mail of the same person (same salt, same rules), so
-- they join users to give the recipient's id. Recipients outside the tenant
-- join no user and are left out; so is mail to oneself. An edge's weight
-- is the number of messages, however many times the recipient appears in
-- one message.
WITH people AS (
  SELECT id, mail
  FROM users
  WHERE mail IS NOT NULL
  QUALIFY row_number() OVER (PARTITION BY id ORDER BY _exported_at DESC) = 1
),
recipients AS (
  SELECT m._owner AS sender, m.id AS message, r.emailAddress.address AS address
  FROM messages m,
       unnest(flatten([coalesce(m.toRecipients, []), coalesce(m.ccRecipients, []),
                       coalesce(m.bccRecipients, [])])) AS t(r)
)
SELECT
  r.sender,
  p.id                      AS recipient,
  count(DISTINCT r.message) AS messages
FROM recipients r
JOIN people p ON p.mail = r.address
WHERE p.id <> r.sender
GROUP BY ALL
ORDER BY sender, recipient;
