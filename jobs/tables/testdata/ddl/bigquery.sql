CREATE OR REPLACE EXTERNAL TABLE `m365export.group_members` (
  `odata_type` STRING,
  `id` STRING,
  `businessPhones` ARRAY<STRING>,
  `displayName` STRING,
  `givenName` STRING,
  `jobTitle` STRING,
  `mail` STRING,
  `mobilePhone` STRING,
  `officeLocation` STRING,
  `preferredLanguage` STRING,
  `surname` STRING,
  `userPrincipalName` STRING,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/entra-id/group_members/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/entra-id/group_members',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.groups` (
  `odata_type` STRING,
  `id` STRING,
  `classification` STRING,
  `createdDateTime` TIMESTAMP,
  `deletedDateTime` TIMESTAMP,
  `description` STRING,
  `displayName` STRING,
  `expirationDateTime` TIMESTAMP,
  `groupTypes` ARRAY<STRING>,
  `isAssignableToRole` BOOL,
  `mail` STRING,
  `mailEnabled` BOOL,
  `mailNickname` STRING,
  `membershipRule` STRING,
  `membershipRuleProcessingState` STRING,
  `onPremisesDomainName` STRING,
  `onPremisesLastSyncDateTime` TIMESTAMP,
  `onPremisesNetBiosName` STRING,
  `onPremisesSamAccountName` STRING,
  `onPremisesSecurityIdentifier` STRING,
  `onPremisesSyncEnabled` BOOL,
  `preferredDataLocation` STRING,
  `preferredLanguage` STRING,
  `proxyAddresses` ARRAY<STRING>,
  `renewedDateTime` TIMESTAMP,
  `resourceBehaviorOptions` ARRAY<STRING>,
  `resourceProvisioningOptions` ARRAY<STRING>,
  `securityEnabled` BOOL,
  `securityIdentifier` STRING,
  `serviceProvisioningErrors` STRING,
  `theme` STRING,
  `uniqueName` STRING,
  `visibility` STRING,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/entra-id/groups/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/entra-id/groups',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.users` (
  `odata_type` STRING,
  `id` STRING,
  `accountEnabled` BOOL,
  `businessPhones` ARRAY<STRING>,
  `city` STRING,
  `companyName` STRING,
  `country` STRING,
  `createdDateTime` TIMESTAMP,
  `department` STRING,
  `displayName` STRING,
  `employeeId` STRING,
  `givenName` STRING,
  `jobTitle` STRING,
  `mail` STRING,
  `mobilePhone` STRING,
  `officeLocation` STRING,
  `onPremisesSyncEnabled` BOOL,
  `otherMails` ARRAY<STRING>,
  `preferredLanguage` STRING,
  `proxyAddresses` ARRAY<STRING>,
  `state` STRING,
  `surname` STRING,
  `usageLocation` STRING,
  `userPrincipalName` STRING,
  `userType` STRING,
  `assignedLicenses` ARRAY<STRUCT<`skuId` STRING, `disabledPlans` ARRAY<STRING>>>,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/entra-id/users/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/entra-id/users',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.copilot_interactions` (
  `id` STRING,
  `appClass` STRING,
  `attachments` ARRAY<STRUCT<`attachmentId` STRING, `contentType` STRING, `contentUrl` STRING, `name` STRING, `content_text_digest` STRING>>,
  `body` STRUCT<`contentType` STRING, `content_text_digest` STRING>,
  `contexts` ARRAY<STRUCT<`contextReference` STRING, `contextType` STRING, `displayName` STRING>>,
  `conversationType` STRING,
  `createdDateTime` TIMESTAMP,
  `etag` STRING,
  `from` STRUCT<`odata_type` STRING, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `conversation` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `tag` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>>,
  `interactionType` STRING,
  `links` ARRAY<STRUCT<`linkUrl` STRING, `linkType` STRING, `displayName` STRING>>,
  `locale` STRING,
  `mentions` ARRAY<STRUCT<`mentionId` INT64, `mentionText` STRING, `mentioned` STRING>>,
  `requestId` STRING,
  `sessionId` STRING,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/msft-copilot/copilot_interactions/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/msft-copilot/copilot_interactions',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.call_records` (
  `id` STRING,
  `endDateTime` TIMESTAMP,
  `joinWebUrl` STRING,
  `lastModifiedDateTime` TIMESTAMP,
  `modalities` ARRAY<STRING>,
  `organizer` STRUCT<`user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `phone` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `odata_type` STRING>,
  `organizer_v2` STRUCT<`id` STRING, `identity` STRUCT<`user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `phone` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `odata_type` STRING>>,
  `participants` ARRAY<STRUCT<`user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `phone` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `odata_type` STRING>>,
  `participants_v2` ARRAY<STRUCT<`id` STRING, `identity` STRUCT<`user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `phone` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `odata_type` STRING>>>,
  `startDateTime` TIMESTAMP,
  `type` STRING,
  `version` INT64,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/msft-teams/call_records/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/msft-teams/call_records',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.channel_messages` (
  `odata_type` STRING,
  `id` STRING,
  `attachments` ARRAY<STRUCT<`id` STRING, `contentType` STRING, `contentUrl` STRING, `name` STRING, `teamsAppId` STRING, `thumbnailUrl` STRING, `content_text_digest` STRING>>,
  `body` STRUCT<`contentType` STRING, `content_text_digest` STRING>,
  `channelIdentity` STRUCT<`teamId` STRING, `channelId` STRING>,
  `chatId` STRING,
  `createdDateTime` TIMESTAMP,
  `deletedDateTime` TIMESTAMP,
  `etag` STRING,
  `eventDetail` STRING,
  `from` STRUCT<`odata_type` STRING, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `conversation` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `tag` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>>,
  `importance` STRING,
  `lastEditedDateTime` TIMESTAMP,
  `lastModifiedDateTime` TIMESTAMP,
  `locale` STRING,
  `mentions` ARRAY<STRUCT<`id` INT64, `mentionText` STRING, `mentioned` STRUCT<`odata_type` STRING, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `conversation` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `tag` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>>>>,
  `messageHistory` ARRAY<STRUCT<`modifiedDateTime` TIMESTAMP, `actions` STRING, `reaction` STRING>>,
  `messageType` STRING,
  `policyViolation` STRING,
  `reactions` ARRAY<STRUCT<`reactionType` STRING, `displayName` STRING, `createdDateTime` TIMESTAMP, `user` STRUCT<`odata_type` STRING, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `conversation` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `tag` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>>>>,
  `replyToId` STRING,
  `subject` STRING,
  `summary` STRING,
  `webUrl` STRING,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/msft-teams/channel_messages/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/msft-teams/channel_messages',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.channels` (
  `odata_id` STRING,
  `id` STRING,
  `createdDateTime` TIMESTAMP,
  `description` STRING,
  `displayName` STRING,
  `email` STRING,
  `isArchived` BOOL,
  `isFavoriteByDefault` BOOL,
  `membershipType` STRING,
  `tenantId` STRING,
  `webUrl` STRING,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/msft-teams/channels/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/msft-teams/channels',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.chat_messages` (
  `odata_type` STRING,
  `id` STRING,
  `attachments` ARRAY<STRUCT<`id` STRING, `contentType` STRING, `contentUrl` STRING, `name` STRING, `teamsAppId` STRING, `thumbnailUrl` STRING, `content_text_digest` STRING>>,
  `body` STRUCT<`contentType` STRING, `content_text_digest` STRING>,
  `channelIdentity` STRUCT<`teamId` STRING, `channelId` STRING>,
  `chatId` STRING,
  `createdDateTime` TIMESTAMP,
  `deletedDateTime` TIMESTAMP,
  `etag` STRING,
  `eventDetail` STRING,
  `from` STRUCT<`odata_type` STRING, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `conversation` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `tag` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>>,
  `importance` STRING,
  `lastEditedDateTime` TIMESTAMP,
  `lastModifiedDateTime` TIMESTAMP,
  `locale` STRING,
  `mentions` ARRAY<STRUCT<`id` INT64, `mentionText` STRING, `mentioned` STRUCT<`odata_type` STRING, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `conversation` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `tag` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>>>>,
  `messageHistory` ARRAY<STRUCT<`modifiedDateTime` TIMESTAMP, `actions` STRING, `reaction` STRING>>,
  `messageType` STRING,
  `policyViolation` STRING,
  `reactions` ARRAY<STRUCT<`reactionType` STRING, `displayName` STRING, `createdDateTime` TIMESTAMP, `user` STRUCT<`odata_type` STRING, `application` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `device` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `user` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `conversation` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>, `tag` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>>>>,
  `replyToId` STRING,
  `subject` STRING,
  `summary` STRING,
  `webUrl` STRING,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/msft-teams/chat_messages/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/msft-teams/chat_messages',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.chats` (
  `id` STRING,
  `chatType` STRING,
  `createdDateTime` TIMESTAMP,
  `lastUpdatedDateTime` TIMESTAMP,
  `onlineMeetingInfo` STRUCT<`calendarEventId` STRING, `joinWebUrl` STRING, `organizer` STRUCT<`odata_type` STRING, `id` STRING, `displayName` STRING, `userIdentityType` STRING, `applicationIdentityType` STRING, `tenantId` STRING>>,
  `tenantId` STRING,
  `topic` STRING,
  `webUrl` STRING,
  `isHiddenForAllMembers` BOOL,
  `viewpoint` STRUCT<`isHidden` BOOL, `lastMessageReadDateTime` TIMESTAMP>,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/msft-teams/chats/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/msft-teams/chats',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.meeting_attendance` (
  `id` STRING,
  `emailAddress` STRING,
  `identity` STRUCT<`id` STRING, `tenantId` STRING>,
  `role` STRING,
  `totalAttendanceInSeconds` INT64,
  `attendanceIntervals` ARRAY<STRUCT<`joinDateTime` TIMESTAMP, `leaveDateTime` TIMESTAMP, `durationInSeconds` INT64>>,
  `registrationId` STRING,
  `found_date_time` TIMESTAMP,
  `report_id` STRING,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/msft-teams/meeting_attendance/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/msft-teams/meeting_attendance',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.online_meetings` (
  `id` STRING,
  `creationDateTime` TIMESTAMP,
  `startDateTime` TIMESTAMP,
  `endDateTime` TIMESTAMP,
  `joinWebUrl` STRING,
  `subject` STRING,
  `chatInfo` STRUCT<`threadId` STRING, `messageId` STRING, `replyChainMessageId` STRING>,
  `participants` STRUCT<`organizer` STRUCT<`identity` STRUCT<`user` STRUCT<`id` STRING, `tenantId` STRING>>, `role` STRING>, `attendees` ARRAY<STRUCT<`identity` STRUCT<`user` STRUCT<`id` STRING, `tenantId` STRING>>, `role` STRING>>>,
  `allowedPresenters` STRING,
  `isEntryExitAnnounced` BOOL,
  `lobbyBypassSettings` STRUCT<`scope` STRING, `isDialInBypassEnabled` BOOL>,
  `recordAutomatically` BOOL,
  `allowAttendeeToEnableCamera` BOOL,
  `allowAttendeeToEnableMic` BOOL,
  `allowMeetingChat` STRING,
  `allowTeamworkReactions` BOOL,
  `isBroadcast` BOOL,
  `found_date_time` TIMESTAMP,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/msft-teams/online_meetings/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/msft-teams/online_meetings',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.teams` (
  `odata_type` STRING,
  `id` STRING,
  `classification` STRING,
  `createdDateTime` TIMESTAMP,
  `description` STRING,
  `displayName` STRING,
  `internalId` STRING,
  `isArchived` BOOL,
  `specialization` STRING,
  `tenantId` STRING,
  `visibility` STRING,
  `webUrl` STRING,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/msft-teams/teams/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/msft-teams/teams',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.events` (
  `odata_etag` STRING,
  `id` STRING,
  `allowNewTimeProposals` BOOL,
  `attendees` ARRAY<STRUCT<`type` STRING, `status` STRUCT<`response` STRING, `time` TIMESTAMP>, `emailAddress` STRUCT<`address` STRING, `name` STRING>>>,
  `body` STRUCT<`contentType` STRING, `content` STRING>,
  `bodyPreview` STRING,
  `categories` ARRAY<STRING>,
  `changeKey` STRING,
  `createdDateTime` TIMESTAMP,
  `end` STRUCT<`dateTime` STRING, `timeZone` STRING, `utc` TIMESTAMP>,
  `hasAttachments` BOOL,
  `hideAttendees` BOOL,
  `iCalUId` STRING,
  `importance` STRING,
  `isAllDay` BOOL,
  `isCancelled` BOOL,
  `isDraft` BOOL,
  `isOnlineMeeting` BOOL,
  `isOrganizer` BOOL,
  `isReminderOn` BOOL,
  `lastModifiedDateTime` TIMESTAMP,
  `location` STRUCT<`displayName` STRING, `locationType` STRING, `locationUri` STRING, `uniqueId` STRING, `uniqueIdType` STRING>,
  `locations` ARRAY<STRUCT<`displayName` STRING, `locationType` STRING, `locationUri` STRING, `uniqueId` STRING, `uniqueIdType` STRING>>,
  `onlineMeeting` STRUCT<`joinUrl` STRING, `conferenceId` STRING, `tollNumber` STRING>,
  `onlineMeetingProvider` STRING,
  `onlineMeetingUrl` STRING,
  `organizer` STRUCT<`emailAddress` STRUCT<`address` STRING, `name` STRING>>,
  `originalEndTimeZone` STRING,
  `originalStart` TIMESTAMP,
  `originalStartTimeZone` STRING,
  `recurrence` STRUCT<`pattern` STRUCT<`type` STRING, `interval` INT64, `month` INT64, `dayOfMonth` INT64, `daysOfWeek` ARRAY<STRING>, `firstDayOfWeek` STRING, `index` STRING>, `range` STRUCT<`type` STRING, `startDate` STRING, `endDate` STRING, `recurrenceTimeZone` STRING, `numberOfOccurrences` INT64>>,
  `reminderMinutesBeforeStart` INT64,
  `responseRequested` BOOL,
  `responseStatus` STRUCT<`response` STRING, `time` TIMESTAMP>,
  `sensitivity` STRING,
  `seriesMasterId` STRING,
  `showAs` STRING,
  `start` STRUCT<`dateTime` STRING, `timeZone` STRING, `utc` TIMESTAMP>,
  `subject` STRING,
  `transactionId` STRING,
  `type` STRING,
  `webLink` STRING,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/outlook-cal/events/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/outlook-cal/events',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.outlook_cal_mailbox_settings` (
  `archiveFolder` STRING,
  `automaticRepliesSetting` STRUCT<`status` STRING, `externalAudience` STRING, `scheduledStartDateTime` STRUCT<`dateTime` STRING, `timeZone` STRING, `utc` TIMESTAMP>, `scheduledEndDateTime` STRUCT<`dateTime` STRING, `timeZone` STRING, `utc` TIMESTAMP>>,
  `dateFormat` STRING,
  `delegateMeetingMessageDeliveryOptions` STRING,
  `language` STRUCT<`locale` STRING, `displayName` STRING>,
  `timeFormat` STRING,
  `timeZone` STRING,
  `userPurpose` STRING,
  `workingHours` STRUCT<`daysOfWeek` ARRAY<STRING>, `startTime` STRING, `endTime` STRING, `timeZone` STRUCT<`odata_type` STRING, `name` STRING, `bias` INT64>>,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/outlook-cal/mailbox_settings/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/outlook-cal/mailbox_settings',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.outlook_mail_mailbox_settings` (
  `archiveFolder` STRING,
  `automaticRepliesSetting` STRUCT<`status` STRING, `externalAudience` STRING, `scheduledStartDateTime` STRUCT<`dateTime` STRING, `timeZone` STRING, `utc` TIMESTAMP>, `scheduledEndDateTime` STRUCT<`dateTime` STRING, `timeZone` STRING, `utc` TIMESTAMP>>,
  `dateFormat` STRING,
  `delegateMeetingMessageDeliveryOptions` STRING,
  `language` STRUCT<`locale` STRING, `displayName` STRING>,
  `timeFormat` STRING,
  `timeZone` STRING,
  `userPurpose` STRING,
  `workingHours` STRUCT<`daysOfWeek` ARRAY<STRING>, `startTime` STRING, `endTime` STRING, `timeZone` STRUCT<`odata_type` STRING, `name` STRING, `bias` INT64>>,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/outlook-mail/mailbox_settings/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/outlook-mail/mailbox_settings',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

CREATE OR REPLACE EXTERNAL TABLE `m365export.messages` (
  `odata_etag` STRING,
  `id` STRING,
  `bccRecipients` ARRAY<STRUCT<`emailAddress` STRUCT<`address` STRING, `name` STRING>>>,
  `categories` ARRAY<STRING>,
  `ccRecipients` ARRAY<STRUCT<`emailAddress` STRUCT<`address` STRING, `name` STRING>>>,
  `changeKey` STRING,
  `conversationId` STRING,
  `conversationIndex` STRING,
  `createdDateTime` TIMESTAMP,
  `flag` STRUCT<`flagStatus` STRING, `startDateTime` STRUCT<`dateTime` STRING, `timeZone` STRING, `utc` TIMESTAMP>, `dueDateTime` STRUCT<`dateTime` STRING, `timeZone` STRING, `utc` TIMESTAMP>, `completedDateTime` STRUCT<`dateTime` STRING, `timeZone` STRING, `utc` TIMESTAMP>>,
  `from` STRUCT<`emailAddress` STRUCT<`address` STRING, `name` STRING>>,
  `hasAttachments` BOOL,
  `importance` STRING,
  `inferenceClassification` STRING,
  `internetMessageId` STRING,
  `isDeliveryReceiptRequested` BOOL,
  `isDraft` BOOL,
  `isRead` BOOL,
  `isReadReceiptRequested` BOOL,
  `lastModifiedDateTime` TIMESTAMP,
  `parentFolderId` STRING,
  `receivedDateTime` TIMESTAMP,
  `replyTo` ARRAY<STRUCT<`emailAddress` STRUCT<`address` STRING, `name` STRING>>>,
  `sender` STRUCT<`emailAddress` STRUCT<`address` STRING, `name` STRING>>,
  `sentDateTime` TIMESTAMP,
  `toRecipients` ARRAY<STRUCT<`emailAddress` STRUCT<`address` STRING, `name` STRING>>>,
  `webLink` STRING,
  `_owner` STRING,
  `_run_id` STRING,
  `_exported_at` TIMESTAMP,
  `_extra` STRING
)
WITH PARTITION COLUMNS (`dt` DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['gs://bucket/prefix/outlook-mail/messages/*.parquet'],
  hive_partition_uri_prefix = 'gs://bucket/prefix/outlook-mail/messages',
  require_hive_partition_filter = false,
  enable_list_inference = true
);

