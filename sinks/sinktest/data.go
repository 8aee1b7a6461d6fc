package sinktest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"m365export/sinks"
)

// Schema is the suite's table: every column type, renamed sources, nested
// structs, lists of scalars and of structs, and calendar date-times.
var Schema = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	{Name: "id", Type: sinks.String},
	{Name: "odata_type", Source: "@odata.type", Type: sinks.String},
	{Name: "n", Type: sinks.Int64},
	{Name: "score", Type: sinks.Float64},
	{Name: "ok", Type: sinks.Bool},
	{Name: "at", Type: sinks.Timestamp},
	{Name: "tags", Type: sinks.List, Elem: &sinks.Column{Type: sinks.String}},
	{Name: "counts", Type: sinks.List, Elem: &sinks.Column{Type: sinks.Int64}},
	{Name: "from", Type: sinks.Struct, Fields: []sinks.Column{
		{Name: "emailAddress", Type: sinks.Struct, Fields: []sinks.Column{
			{Name: "address", Type: sinks.String},
			{Name: "name", Type: sinks.String},
		}},
	}},
	{Name: "toRecipients", Type: sinks.List, Elem: &sinks.Column{Type: sinks.Struct, Fields: []sinks.Column{
		{Name: "emailAddress", Type: sinks.Struct, Fields: []sinks.Column{
			{Name: "address", Type: sinks.String},
		}},
		{Name: "seen", Type: sinks.Timestamp},
	}}},
	{Name: "start", Type: sinks.DateTimeTimeZone},
	{Name: "meta", Type: sinks.JSON},
	{Name: "content_text_digest", Source: "+content:textDigest", Type: sinks.JSON},
}}

var zones = []string{"UTC", "Pacific Standard Time", "Europe/Paris", "Mars Standard Time", "W. Europe Standard Time"}

// RecordJSON returns the suite's i-th synthetic record. Records vary:
// missing and null members, empty lists and null elements, escapes and
// non-ASCII text, 7 fractional digits and offsets, integers beyond float64
// precision, numbers in string columns, and members the schema does not
// name (top level, nested, inside list elements).
func RecordJSON(i int) []byte {
	var b strings.Builder
	id := fmt.Sprintf("rec-%06d", i)
	b.WriteString(`{"id":"` + id + `"`)
	switch {
	case i%11 == 0: // only the id
		b.WriteString(`}`)
		return []byte(b.String())
	case i%7 == 1: // explicit nulls everywhere
		b.WriteString(`,"@odata.type":null,"n":null,"score":null,"ok":null,"at":null,"tags":null,"counts":null,"from":null,"toRecipients":null,"start":null,"meta":null,"+content:textDigest":null,"gone":null}`)
		return []byte(b.String())
	}
	fmt.Fprintf(&b, `,"@odata.type":"#microsoft.graph.t%d"`, i%3)
	fmt.Fprintf(&b, `, "n" : %d`, int64(9007199254740993)+int64(i)*1000003)
	fmt.Fprintf(&b, `,"score":%g`, float64(i)*0.25-3)
	fmt.Fprintf(&b, `,"ok":%t`, i%2 == 0)
	at := time.Date(2021, 12, 2, 17, 5, 15, 0, time.UTC).Add(time.Duration(i) * 1234567891 * time.Nanosecond)
	switch i % 3 {
	case 0:
		fmt.Fprintf(&b, `,"at":"%s"`, at.Format("2006-01-02T15:04:05.0000000Z"))
	case 1:
		fmt.Fprintf(&b, `,"at":"%s"`, at.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.000-07:00"))
	default:
		fmt.Fprintf(&b, `,"at":"%s"`, at.Format("2006-01-02T15:04:05Z"))
	}
	switch i % 4 {
	case 0:
		b.WriteString(`,"tags":[]`)
	case 1:
		b.WriteString(`,"tags":["a",null,"Zoë \"quoted\" \\ \u00e9 \ud83d\ude00\nline"]`)
	case 2:
		fmt.Fprintf(&b, `,"tags":["t%d", 42, true]`, i)
	}
	if i%5 != 0 {
		b.WriteString(`,"counts":[`)
		for j := 0; j < i%5; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString(strconv.Itoa(j * i))
		}
		b.WriteString(`]`)
	}
	fmt.Fprintf(&b, `,"from":{"emailAddress":{"address":"t~%08x@example.com"`, i*2654435761)
	if i%3 == 2 {
		b.WriteString(`,"extraNested":"x"`)
	}
	b.WriteString(`}}`)
	b.WriteString(`,"toRecipients":[`)
	for j := 0; j < i%4; j++ {
		if j > 0 {
			b.WriteString(",")
		}
		if j == 2 {
			b.WriteString(`null`)
			continue
		}
		fmt.Fprintf(&b, `{"emailAddress":{"address":"p~%d-%d"}`, i, j)
		if j == 1 {
			fmt.Fprintf(&b, `,"seen":"2024-02-29T23:59:59.9999999Z","unknownInList":{"k":%d}`, j)
		}
		b.WriteString(`}`)
	}
	b.WriteString(`]`)
	z := zones[i%len(zones)]
	fmt.Fprintf(&b, `,"start":{"dateTime":"2023-%02d-28T16:30:00.0000000","timeZone":"%s"}`, i%12+1, z)
	if i%2 == 0 {
		fmt.Fprintf(&b, `,"meta":{"b":[1,2,{"c":null}],"a":"%d"}`, i)
	} else {
		b.WriteString(`,"meta":"just a string"`)
	}
	if i%3 == 0 {
		b.WriteString(`,"+content:textDigest":{"length":63,"word_count":2}`)
	}
	if i%3 == 2 {
		fmt.Fprintf(&b, `,"newField":{"x":[%d]},"@odata.etag":"W/\"%d\""`, i, i)
	}
	b.WriteString("}")
	return []byte(b.String())
}

// MessageJSON appends the i-th synthetic sanitized sent-mail message (the
// shape of Graph's message after psoxy-style rules: pseudonymized
// addresses, no subject or body) to buf. It allocates nothing, so that a
// benchmark measures the sink, not the generator.
func MessageJSON(buf []byte, i int) []byte {
	sec := int64(1709251200) + int64(i)*997/1000 // from 2024-03-01T00:00:00Z
	appendID := func(buf []byte) []byte {
		buf = append(buf, "AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OABGAAAAAAAiQ8W967B7TKBjgx9rVEURBwAiIsqMbYjsT5e-T7KzowPTAAAAAAEJAAAiIsqMbYjsT5e-T7KzowPTAA"...)
		buf = appendHash(buf, uint64(i), 12)
		return append(buf, "AAA="...)
	}
	buf = append(buf, `{"@odata.etag":"W/\"CQAAABYAAAAiIsqMbYjsT5e/T7KzowPTAAQSDE1C\"","id":"`...)
	buf = appendID(buf)
	buf = append(buf, `","createdDateTime":"`...)
	buf = appendTime(buf, sec, "Z")
	buf = append(buf, `","lastModifiedDateTime":"`...)
	buf = appendTime(buf, sec+3, ".1234567Z")
	buf = append(buf, `","changeKey":"CQAAABYAAAAiIsqMbYjsT5e/T7KzowPTAAQSDE1C","categories":[],"receivedDateTime":"`...)
	buf = appendTime(buf, sec+1, "Z")
	buf = append(buf, `","sentDateTime":"`...)
	buf = appendTime(buf, sec, "Z")
	buf = append(buf, `","hasAttachments":`...)
	buf = strconv.AppendBool(buf, i%9 == 0)
	buf = append(buf, `,"internetMessageId":"<t~`...)
	buf = appendHash(buf, uint64(i)*7919, 43)
	buf = append(buf, `@example.onmicrosoft.com>","importance":"normal","parentFolderId":"AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OAAuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAAAAAEJAAA=","conversationId":"AAQkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OAAQABSf9W_i_01LsCsz0w-e`...)
	buf = appendHash(buf, uint64(i/3), 8)
	buf = append(buf, `=","conversationIndex":"AQHX557HFJ/1b6L7TUuwKzPTD95/LA==","isDeliveryReceiptRequested":false,"isReadReceiptRequested":false,"isRead":true,"isDraft":false,"webLink":"https://outlook.office365.com/owa/?ItemID=`...)
	buf = appendID(buf)
	buf = append(buf, `&exvsurl=1&viewmodel=ReadMessageItem","inferenceClassification":"focused","sender":{"emailAddress":{"address":"`...)
	buf = appendPseudonym(buf, i%5000)
	buf = append(buf, `"}},"from":{"emailAddress":{"address":"`...)
	buf = appendPseudonym(buf, i%5000)
	buf = append(buf, `"}},"toRecipients":[`...)
	for j := 0; j < 1+i%3; j++ {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"emailAddress":{"address":"`...)
		buf = appendPseudonym(buf, i*31+j)
		buf = append(buf, `"}}`...)
	}
	buf = append(buf, `],"ccRecipients":[`...)
	if i%4 == 0 {
		buf = append(buf, `{"emailAddress":{"address":"`...)
		buf = appendPseudonym(buf, i*17)
		buf = append(buf, `"}}`...)
	}
	buf = append(buf, `],"bccRecipients":[],"replyTo":[],"flag":{"flagStatus":"notFlagged"}}`...)
	return buf
}

// appendHash appends n base64url characters derived from x.
func appendHash(buf []byte, x uint64, n int) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	x = x*0x9E3779B97F4A7C15 + 1
	for range n {
		x ^= x >> 29
		x *= 0xBF58476D1CE4E5B9
		buf = append(buf, alphabet[x>>58])
	}
	return buf
}

// pseudonyms is a table of distinct pseudonymized addresses (a tenant's
// worth of users), made once.
var pseudonyms = func() [][]byte {
	p := make([][]byte, 1<<14)
	for i := range p {
		b := append([]byte("t~"), appendHash(nil, uint64(i), 43)...)
		p[i] = append(b, "@example.onmicrosoft.com"...)
	}
	return p
}()

func appendPseudonym(buf []byte, n int) []byte {
	return append(buf, pseudonyms[uint(n)%uint(len(pseudonyms))]...)
}

// appendTime appends sec (Unix seconds, UTC) as 2006-01-02T15:04:05 and
// then suffix.
func appendTime(buf []byte, sec int64, suffix string) []byte {
	days := sec / 86400
	rem := sec % 86400
	// civil_from_days (Howard Hinnant).
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	two := func(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	buf = two(two(buf, y/100), y%100)
	buf = two(append(buf, '-'), m)
	buf = two(append(buf, '-'), d)
	buf = two(append(buf, 'T'), rem/3600)
	buf = two(append(buf, ':'), rem/60%60)
	buf = two(append(buf, ':'), rem%60)
	return append(buf, suffix...)
}
