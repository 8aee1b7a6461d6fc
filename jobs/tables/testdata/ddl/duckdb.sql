CREATE OR REPLACE VIEW "group_members" AS
SELECT * FROM read_parquet('s3://bucket/prefix/entra-id/group_members/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "groups" AS
SELECT * FROM read_parquet('s3://bucket/prefix/entra-id/groups/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "users" AS
SELECT * FROM read_parquet('s3://bucket/prefix/entra-id/users/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "copilot_interactions" AS
SELECT * FROM read_parquet('s3://bucket/prefix/msft-copilot/copilot_interactions/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "call_records" AS
SELECT * FROM read_parquet('s3://bucket/prefix/msft-teams/call_records/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "channel_messages" AS
SELECT * FROM read_parquet('s3://bucket/prefix/msft-teams/channel_messages/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "channels" AS
SELECT * FROM read_parquet('s3://bucket/prefix/msft-teams/channels/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "chat_messages" AS
SELECT * FROM read_parquet('s3://bucket/prefix/msft-teams/chat_messages/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "chats" AS
SELECT * FROM read_parquet('s3://bucket/prefix/msft-teams/chats/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "meeting_attendance" AS
SELECT * FROM read_parquet('s3://bucket/prefix/msft-teams/meeting_attendance/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "online_meetings" AS
SELECT * FROM read_parquet('s3://bucket/prefix/msft-teams/online_meetings/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "teams" AS
SELECT * FROM read_parquet('s3://bucket/prefix/msft-teams/teams/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "events" AS
SELECT * FROM read_parquet('s3://bucket/prefix/outlook-cal/events/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "outlook_cal_mailbox_settings" AS
SELECT * FROM read_parquet('s3://bucket/prefix/outlook-cal/mailbox_settings/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "outlook_mail_mailbox_settings" AS
SELECT * FROM read_parquet('s3://bucket/prefix/outlook-mail/mailbox_settings/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

CREATE OR REPLACE VIEW "messages" AS
SELECT * FROM read_parquet('s3://bucket/prefix/outlook-mail/messages/*/*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});

