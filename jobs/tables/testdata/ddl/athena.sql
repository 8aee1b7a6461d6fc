CREATE DATABASE IF NOT EXISTS `m365export`;

DROP TABLE IF EXISTS `m365export`.`group_members`;

CREATE EXTERNAL TABLE `m365export`.`group_members` (
  `odata_type` string,
  `id` string,
  `businessphones` array<string>,
  `displayname` string,
  `givenname` string,
  `jobtitle` string,
  `mail` string,
  `mobilephone` string,
  `officelocation` string,
  `preferredlanguage` string,
  `surname` string,
  `userprincipalname` string,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/entra-id/group_members/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/entra-id/group_members/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`groups`;

CREATE EXTERNAL TABLE `m365export`.`groups` (
  `odata_type` string,
  `id` string,
  `classification` string,
  `createddatetime` timestamp,
  `deleteddatetime` timestamp,
  `description` string,
  `displayname` string,
  `expirationdatetime` timestamp,
  `grouptypes` array<string>,
  `isassignabletorole` boolean,
  `mail` string,
  `mailenabled` boolean,
  `mailnickname` string,
  `membershiprule` string,
  `membershipruleprocessingstate` string,
  `onpremisesdomainname` string,
  `onpremiseslastsyncdatetime` timestamp,
  `onpremisesnetbiosname` string,
  `onpremisessamaccountname` string,
  `onpremisessecurityidentifier` string,
  `onpremisessyncenabled` boolean,
  `preferreddatalocation` string,
  `preferredlanguage` string,
  `proxyaddresses` array<string>,
  `reneweddatetime` timestamp,
  `resourcebehavioroptions` array<string>,
  `resourceprovisioningoptions` array<string>,
  `securityenabled` boolean,
  `securityidentifier` string,
  `serviceprovisioningerrors` string,
  `theme` string,
  `uniquename` string,
  `visibility` string,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/entra-id/groups/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/entra-id/groups/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`users`;

CREATE EXTERNAL TABLE `m365export`.`users` (
  `odata_type` string,
  `id` string,
  `accountenabled` boolean,
  `businessphones` array<string>,
  `city` string,
  `companyname` string,
  `country` string,
  `createddatetime` timestamp,
  `department` string,
  `displayname` string,
  `employeeid` string,
  `givenname` string,
  `jobtitle` string,
  `mail` string,
  `mobilephone` string,
  `officelocation` string,
  `onpremisessyncenabled` boolean,
  `othermails` array<string>,
  `preferredlanguage` string,
  `proxyaddresses` array<string>,
  `state` string,
  `surname` string,
  `usagelocation` string,
  `userprincipalname` string,
  `usertype` string,
  `assignedlicenses` array<struct<`skuid`:string,`disabledplans`:array<string>>>,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/entra-id/users/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/entra-id/users/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`copilot_interactions`;

CREATE EXTERNAL TABLE `m365export`.`copilot_interactions` (
  `id` string,
  `appclass` string,
  `attachments` array<struct<`attachmentid`:string,`contenttype`:string,`contenturl`:string,`name`:string,`content_text_digest`:string>>,
  `body` struct<`contenttype`:string,`content_text_digest`:string>,
  `contexts` array<struct<`contextreference`:string,`contexttype`:string,`displayname`:string>>,
  `conversationtype` string,
  `createddatetime` timestamp,
  `etag` string,
  `from` struct<`odata_type`:string,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`conversation`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`tag`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>>,
  `interactiontype` string,
  `links` array<struct<`linkurl`:string,`linktype`:string,`displayname`:string>>,
  `locale` string,
  `mentions` array<struct<`mentionid`:bigint,`mentiontext`:string,`mentioned`:string>>,
  `requestid` string,
  `sessionid` string,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/msft-copilot/copilot_interactions/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/msft-copilot/copilot_interactions/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`call_records`;

CREATE EXTERNAL TABLE `m365export`.`call_records` (
  `id` string,
  `enddatetime` timestamp,
  `joinweburl` string,
  `lastmodifieddatetime` timestamp,
  `modalities` array<string>,
  `organizer` struct<`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`phone`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`odata_type`:string>,
  `organizer_v2` struct<`id`:string,`identity`:struct<`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`phone`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`odata_type`:string>>,
  `participants` array<struct<`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`phone`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`odata_type`:string>>,
  `participants_v2` array<struct<`id`:string,`identity`:struct<`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`phone`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`odata_type`:string>>>,
  `startdatetime` timestamp,
  `type` string,
  `version` bigint,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/msft-teams/call_records/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/msft-teams/call_records/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`channel_messages`;

CREATE EXTERNAL TABLE `m365export`.`channel_messages` (
  `odata_type` string,
  `id` string,
  `attachments` array<struct<`id`:string,`contenttype`:string,`contenturl`:string,`name`:string,`teamsappid`:string,`thumbnailurl`:string,`content_text_digest`:string>>,
  `body` struct<`contenttype`:string,`content_text_digest`:string>,
  `channelidentity` struct<`teamid`:string,`channelid`:string>,
  `chatid` string,
  `createddatetime` timestamp,
  `deleteddatetime` timestamp,
  `etag` string,
  `eventdetail` string,
  `from` struct<`odata_type`:string,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`conversation`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`tag`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>>,
  `importance` string,
  `lastediteddatetime` timestamp,
  `lastmodifieddatetime` timestamp,
  `locale` string,
  `mentions` array<struct<`id`:bigint,`mentiontext`:string,`mentioned`:struct<`odata_type`:string,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`conversation`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`tag`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>>>>,
  `messagehistory` array<struct<`modifieddatetime`:timestamp,`actions`:string,`reaction`:string>>,
  `messagetype` string,
  `policyviolation` string,
  `reactions` array<struct<`reactiontype`:string,`displayname`:string,`createddatetime`:timestamp,`user`:struct<`odata_type`:string,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`conversation`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`tag`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>>>>,
  `replytoid` string,
  `subject` string,
  `summary` string,
  `weburl` string,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/msft-teams/channel_messages/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/msft-teams/channel_messages/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`channels`;

CREATE EXTERNAL TABLE `m365export`.`channels` (
  `odata_id` string,
  `id` string,
  `createddatetime` timestamp,
  `description` string,
  `displayname` string,
  `email` string,
  `isarchived` boolean,
  `isfavoritebydefault` boolean,
  `membershiptype` string,
  `tenantid` string,
  `weburl` string,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/msft-teams/channels/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/msft-teams/channels/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`chat_messages`;

CREATE EXTERNAL TABLE `m365export`.`chat_messages` (
  `odata_type` string,
  `id` string,
  `attachments` array<struct<`id`:string,`contenttype`:string,`contenturl`:string,`name`:string,`teamsappid`:string,`thumbnailurl`:string,`content_text_digest`:string>>,
  `body` struct<`contenttype`:string,`content_text_digest`:string>,
  `channelidentity` struct<`teamid`:string,`channelid`:string>,
  `chatid` string,
  `createddatetime` timestamp,
  `deleteddatetime` timestamp,
  `etag` string,
  `eventdetail` string,
  `from` struct<`odata_type`:string,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`conversation`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`tag`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>>,
  `importance` string,
  `lastediteddatetime` timestamp,
  `lastmodifieddatetime` timestamp,
  `locale` string,
  `mentions` array<struct<`id`:bigint,`mentiontext`:string,`mentioned`:struct<`odata_type`:string,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`conversation`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`tag`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>>>>,
  `messagehistory` array<struct<`modifieddatetime`:timestamp,`actions`:string,`reaction`:string>>,
  `messagetype` string,
  `policyviolation` string,
  `reactions` array<struct<`reactiontype`:string,`displayname`:string,`createddatetime`:timestamp,`user`:struct<`odata_type`:string,`application`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`device`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`user`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`conversation`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>,`tag`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>>>>,
  `replytoid` string,
  `subject` string,
  `summary` string,
  `weburl` string,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/msft-teams/chat_messages/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/msft-teams/chat_messages/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`chats`;

CREATE EXTERNAL TABLE `m365export`.`chats` (
  `id` string,
  `chattype` string,
  `createddatetime` timestamp,
  `lastupdateddatetime` timestamp,
  `onlinemeetinginfo` struct<`calendareventid`:string,`joinweburl`:string,`organizer`:struct<`odata_type`:string,`id`:string,`displayname`:string,`useridentitytype`:string,`applicationidentitytype`:string,`tenantid`:string>>,
  `tenantid` string,
  `topic` string,
  `weburl` string,
  `ishiddenforallmembers` boolean,
  `viewpoint` struct<`ishidden`:boolean,`lastmessagereaddatetime`:timestamp>,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/msft-teams/chats/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/msft-teams/chats/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`meeting_attendance`;

CREATE EXTERNAL TABLE `m365export`.`meeting_attendance` (
  `id` string,
  `emailaddress` string,
  `identity` struct<`id`:string,`tenantid`:string>,
  `role` string,
  `totalattendanceinseconds` bigint,
  `attendanceintervals` array<struct<`joindatetime`:timestamp,`leavedatetime`:timestamp,`durationinseconds`:bigint>>,
  `registrationid` string,
  `found_date_time` timestamp,
  `report_id` string,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/msft-teams/meeting_attendance/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/msft-teams/meeting_attendance/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`online_meetings`;

CREATE EXTERNAL TABLE `m365export`.`online_meetings` (
  `id` string,
  `creationdatetime` timestamp,
  `startdatetime` timestamp,
  `enddatetime` timestamp,
  `joinweburl` string,
  `subject` string,
  `chatinfo` struct<`threadid`:string,`messageid`:string,`replychainmessageid`:string>,
  `participants` struct<`organizer`:struct<`identity`:struct<`user`:struct<`id`:string,`tenantid`:string>>,`role`:string>,`attendees`:array<struct<`identity`:struct<`user`:struct<`id`:string,`tenantid`:string>>,`role`:string>>>,
  `allowedpresenters` string,
  `isentryexitannounced` boolean,
  `lobbybypasssettings` struct<`scope`:string,`isdialinbypassenabled`:boolean>,
  `recordautomatically` boolean,
  `allowattendeetoenablecamera` boolean,
  `allowattendeetoenablemic` boolean,
  `allowmeetingchat` string,
  `allowteamworkreactions` boolean,
  `isbroadcast` boolean,
  `found_date_time` timestamp,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/msft-teams/online_meetings/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/msft-teams/online_meetings/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`teams`;

CREATE EXTERNAL TABLE `m365export`.`teams` (
  `odata_type` string,
  `id` string,
  `classification` string,
  `createddatetime` timestamp,
  `description` string,
  `displayname` string,
  `internalid` string,
  `isarchived` boolean,
  `specialization` string,
  `tenantid` string,
  `visibility` string,
  `weburl` string,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/msft-teams/teams/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/msft-teams/teams/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`events`;

CREATE EXTERNAL TABLE `m365export`.`events` (
  `odata_etag` string,
  `id` string,
  `allownewtimeproposals` boolean,
  `attendees` array<struct<`type`:string,`status`:struct<`response`:string,`time`:timestamp>,`emailaddress`:struct<`address`:string,`name`:string>>>,
  `body` struct<`contenttype`:string,`content`:string>,
  `bodypreview` string,
  `categories` array<string>,
  `changekey` string,
  `createddatetime` timestamp,
  `end` struct<`datetime`:string,`timezone`:string,`utc`:timestamp>,
  `hasattachments` boolean,
  `hideattendees` boolean,
  `icaluid` string,
  `importance` string,
  `isallday` boolean,
  `iscancelled` boolean,
  `isdraft` boolean,
  `isonlinemeeting` boolean,
  `isorganizer` boolean,
  `isreminderon` boolean,
  `lastmodifieddatetime` timestamp,
  `location` struct<`displayname`:string,`locationtype`:string,`locationuri`:string,`uniqueid`:string,`uniqueidtype`:string>,
  `locations` array<struct<`displayname`:string,`locationtype`:string,`locationuri`:string,`uniqueid`:string,`uniqueidtype`:string>>,
  `onlinemeeting` struct<`joinurl`:string,`conferenceid`:string,`tollnumber`:string>,
  `onlinemeetingprovider` string,
  `onlinemeetingurl` string,
  `organizer` struct<`emailaddress`:struct<`address`:string,`name`:string>>,
  `originalendtimezone` string,
  `originalstart` timestamp,
  `originalstarttimezone` string,
  `recurrence` struct<`pattern`:struct<`type`:string,`interval`:bigint,`month`:bigint,`dayofmonth`:bigint,`daysofweek`:array<string>,`firstdayofweek`:string,`index`:string>,`range`:struct<`type`:string,`startdate`:string,`enddate`:string,`recurrencetimezone`:string,`numberofoccurrences`:bigint>>,
  `reminderminutesbeforestart` bigint,
  `responserequested` boolean,
  `responsestatus` struct<`response`:string,`time`:timestamp>,
  `sensitivity` string,
  `seriesmasterid` string,
  `showas` string,
  `start` struct<`datetime`:string,`timezone`:string,`utc`:timestamp>,
  `subject` string,
  `transactionid` string,
  `type` string,
  `weblink` string,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/outlook-cal/events/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/outlook-cal/events/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`outlook_cal_mailbox_settings`;

CREATE EXTERNAL TABLE `m365export`.`outlook_cal_mailbox_settings` (
  `archivefolder` string,
  `automaticrepliessetting` struct<`status`:string,`externalaudience`:string,`scheduledstartdatetime`:struct<`datetime`:string,`timezone`:string,`utc`:timestamp>,`scheduledenddatetime`:struct<`datetime`:string,`timezone`:string,`utc`:timestamp>>,
  `dateformat` string,
  `delegatemeetingmessagedeliveryoptions` string,
  `language` struct<`locale`:string,`displayname`:string>,
  `timeformat` string,
  `timezone` string,
  `userpurpose` string,
  `workinghours` struct<`daysofweek`:array<string>,`starttime`:string,`endtime`:string,`timezone`:struct<`odata_type`:string,`name`:string,`bias`:bigint>>,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/outlook-cal/mailbox_settings/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/outlook-cal/mailbox_settings/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`outlook_mail_mailbox_settings`;

CREATE EXTERNAL TABLE `m365export`.`outlook_mail_mailbox_settings` (
  `archivefolder` string,
  `automaticrepliessetting` struct<`status`:string,`externalaudience`:string,`scheduledstartdatetime`:struct<`datetime`:string,`timezone`:string,`utc`:timestamp>,`scheduledenddatetime`:struct<`datetime`:string,`timezone`:string,`utc`:timestamp>>,
  `dateformat` string,
  `delegatemeetingmessagedeliveryoptions` string,
  `language` struct<`locale`:string,`displayname`:string>,
  `timeformat` string,
  `timezone` string,
  `userpurpose` string,
  `workinghours` struct<`daysofweek`:array<string>,`starttime`:string,`endtime`:string,`timezone`:struct<`odata_type`:string,`name`:string,`bias`:bigint>>,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/outlook-mail/mailbox_settings/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/outlook-mail/mailbox_settings/dt=${dt}/'
);

DROP TABLE IF EXISTS `m365export`.`messages`;

CREATE EXTERNAL TABLE `m365export`.`messages` (
  `odata_etag` string,
  `id` string,
  `bccrecipients` array<struct<`emailaddress`:struct<`address`:string,`name`:string>>>,
  `categories` array<string>,
  `ccrecipients` array<struct<`emailaddress`:struct<`address`:string,`name`:string>>>,
  `changekey` string,
  `conversationid` string,
  `conversationindex` string,
  `createddatetime` timestamp,
  `flag` struct<`flagstatus`:string,`startdatetime`:struct<`datetime`:string,`timezone`:string,`utc`:timestamp>,`duedatetime`:struct<`datetime`:string,`timezone`:string,`utc`:timestamp>,`completeddatetime`:struct<`datetime`:string,`timezone`:string,`utc`:timestamp>>,
  `from` struct<`emailaddress`:struct<`address`:string,`name`:string>>,
  `hasattachments` boolean,
  `importance` string,
  `inferenceclassification` string,
  `internetmessageid` string,
  `isdeliveryreceiptrequested` boolean,
  `isdraft` boolean,
  `isread` boolean,
  `isreadreceiptrequested` boolean,
  `lastmodifieddatetime` timestamp,
  `parentfolderid` string,
  `receiveddatetime` timestamp,
  `replyto` array<struct<`emailaddress`:struct<`address`:string,`name`:string>>>,
  `sender` struct<`emailaddress`:struct<`address`:string,`name`:string>>,
  `sentdatetime` timestamp,
  `torecipients` array<struct<`emailaddress`:struct<`address`:string,`name`:string>>>,
  `weblink` string,
  `_owner` string,
  `_run_id` string,
  `_exported_at` timestamp,
  `_extra` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://bucket/prefix/outlook-mail/messages/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2020-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://bucket/prefix/outlook-mail/messages/dt=${dt}/'
);

