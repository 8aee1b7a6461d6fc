// Package cols builds table schemas (sinks.Schema columns) for connector
// declarations: one constructor per Parquet type, plus the shapes Graph
// repeats across resources (identity sets, email addresses, locations).
//
// Columns carry Graph's property names as the sanitizer leaves them. Names
// BigQuery and Athena reject are mapped with From: "@odata.type" →
// odata_type, "@odata.etag" → odata_etag, "@odata.id" → odata_id,
// "+content:textDigest" → content_text_digest.
package cols

import "m365export/sinks"

// Str is a STRING column; doc, if given, is its description.
func Str(name string, doc ...string) sinks.Column { return col(name, sinks.String, doc) }

// Int is an INT64 column.
func Int(name string, doc ...string) sinks.Column { return col(name, sinks.Int64, doc) }

// Bool is a BOOLEAN column.
func Bool(name string, doc ...string) sinks.Column { return col(name, sinks.Bool, doc) }

// Time is a TIMESTAMP(MICROS, UTC) column.
func Time(name string, doc ...string) sinks.Column { return col(name, sinks.Timestamp, doc) }

// JSON is a STRING column holding the member's JSON text.
func JSON(name string, doc ...string) sinks.Column { return col(name, sinks.JSON, doc) }

// DateTimeTZ is Graph's dateTimeTimeZone: dateTime and timeZone as sent,
// plus the instant in UTC.
func DateTimeTZ(name string, doc ...string) sinks.Column {
	return col(name, sinks.DateTimeTimeZone, doc)
}

func col(name string, t sinks.Type, doc []string) sinks.Column {
	c := sinks.Column{Name: name, Type: t}
	if len(doc) > 0 {
		c.Doc = doc[0]
	}
	return c
}

// Obj is a STRUCT column of fields.
func Obj(name string, fields ...sinks.Column) sinks.Column {
	return sinks.Column{Name: name, Type: sinks.Struct, Fields: fields}
}

// List is a LIST column of elem (whose name is ignored).
func List(name string, elem sinks.Column) sinks.Column {
	return sinks.Column{Name: name, Type: sinks.List, Elem: &elem}
}

// Strs is a LIST<STRING> column.
func Strs(name string, doc ...string) sinks.Column {
	c := List(name, sinks.Column{Type: sinks.String})
	if len(doc) > 0 {
		c.Doc = doc[0]
	}
	return c
}

// From renames: the column keeps its name, read from JSON member source.
func From(c sinks.Column, source string) sinks.Column {
	c.Source = source
	return c
}

// OdataType is Graph's @odata.type as odata_type.
func OdataType() sinks.Column {
	return From(Str("odata_type", "Graph's @odata.type: the object's derived type."), "@odata.type")
}

// OdataEtag is Graph's @odata.etag as odata_etag.
func OdataEtag() sinks.Column {
	return From(Str("odata_etag", "Graph's @odata.etag."), "@odata.etag")
}

// OdataID is Graph's @odata.id as odata_id.
func OdataID() sinks.Column { return From(Str("odata_id", "Graph's @odata.id."), "@odata.id") }

// TextDigest is the digest the sanitizer leaves in place of content.
func TextDigest() sinks.Column {
	return From(JSON("content_text_digest", "Digest the sanitizer leaves in place of the content (length, word count), as JSON."), "+content:textDigest")
}

// EmailAddress is Graph's recipient: emailAddress{address, name}.
func EmailAddress(name string) sinks.Column {
	return Obj(name, Obj("emailAddress",
		Str("address", "Pseudonymized address."),
		Str("name")))
}

// Identity is Graph's identity (user, application, device…).
func Identity(name string) sinks.Column {
	return Obj(name, OdataType(), Str("id"), Str("displayName"), Str("userIdentityType"), Str("applicationIdentityType"), Str("tenantId"))
}

// IdentitySet is Graph's identitySet of a Teams message or Copilot
// interaction.
func IdentitySet(name string) sinks.Column {
	return Obj(name, OdataType(), Identity("application"), Identity("device"), Identity("user"), Identity("conversation"), Identity("tag"))
}

// Location is Graph's location of an event.
func Location(name string) sinks.Column {
	return Obj(name, Str("displayName", "Removed by the built-in rules (room or place name, free text typed by the organizer): null."), Str("locationType"),
		Str("locationUri", "Removed by the built-in rules unless --ids kept (an online meeting's URL carries its organizer's user id; a URL the organizer typed may name anyone, e.g. a personal meeting room): null. With --ids kept, as psoxy's base rules keep it, with any pwd= parameter removed."), Str("uniqueId", "Removed by the built-in rules (for a free-text location it repeats the name): null."), Str("uniqueIdType"))
}

// ResponseStatus is Graph's responseStatus of an event or attendee.
func ResponseStatus(name string) sinks.Column {
	return Obj(name, Str("response"), Time("time"))
}
