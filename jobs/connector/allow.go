package connector

import (
	"fmt"
	"slices"
	"strings"

	"m365export/rules"
	"m365export/sinks"
)

// The allow-list of a table is generated from its one declaration, the
// table schema: a record keeps exactly the members its columns read
// (their source names, "@odata.type" for odata_type), recursively through
// structs and lists, and the members a JSON column's declared contents
// (Collection.JSON) name. The built-in rules carry it as psoxy's
// responseSchema (RenderRules), and every record an export writes goes
// through it once more after the rules (Collection.Shape, applied by the
// job), so that neither a rule file given with --rules nor a property
// Graph adds can put anything beyond the table's columns in the output.

// Shape is the allow-list of the collection's records, as sanitized:
// every column by its source name; a timestamp, string, number or boolean
// a scalar leaf; a struct an object of its fields; a list an array; a
// dateTimeTimeZone {dateTime, timeZone}; a JSON column what Collection.JSON
// declares for it (a scalar leaf when nothing: a JSON object or array in
// it becomes null). Augment keys ("+content:textDigest") are kept only
// where a column names them.
func (c *Collection) Shape() *rules.Shape {
	return columnsShape(c.Schema.Columns, "", c.JSON)
}

// ResponseShape is the allow-list of the collection's responses: its
// record (Single) or a page of records under value (the paging links and
// other annotations of the page are not kept: an export follows the links
// Graph sent and writes only the records).
func (c *Collection) ResponseShape() *rules.Shape {
	if c.Single {
		return c.Shape()
	}
	return rules.Object(map[string]*rules.Shape{"value": rules.Array(c.Shape())})
}

func columnsShape(cs []sinks.Column, prefix string, json map[string]sinks.Column) *rules.Shape {
	props := make(map[string]*rules.Shape, len(cs))
	for i := range cs {
		props[cs[i].SourceName()] = columnShape(&cs[i], prefix+cs[i].Name, json)
	}
	return rules.Object(props)
}

func columnShape(c *sinks.Column, path string, json map[string]sinks.Column) *rules.Shape {
	switch c.Type {
	case sinks.Struct:
		return columnsShape(c.Fields, path+".", json)
	case sinks.List:
		return rules.Array(columnShape(c.Elem, path+"[]", json))
	case sinks.DateTimeTimeZone:
		return rules.Object(map[string]*rules.Shape{"dateTime": rules.Leaf(), "timeZone": rules.Leaf()})
	case sinks.JSON:
		if in, ok := json[path]; ok {
			return columnShape(&in, path, nil)
		}
		if strings.HasSuffix(c.SourceName(), ":textDigest") {
			return textDigest
		}
	}
	return rules.Leaf()
}

// textDigest is what the sanitizer's textDigest augment writes.
var textDigest = rules.Object(map[string]*rules.Shape{"length": rules.Leaf(), "word_count": rules.Leaf()})

// jsonColumns lists the dotted paths of the JSON columns of cs.
func jsonColumns(cs []sinks.Column, prefix string) []string {
	var out []string
	for i := range cs {
		c := &cs[i]
		p := prefix + c.Name
		for c.Type == sinks.List {
			c, p = c.Elem, p+"[]"
		}
		switch c.Type {
		case sinks.JSON:
			out = append(out, p)
		case sinks.Struct:
			out = append(out, jsonColumns(c.Fields, p+".")...)
		}
	}
	return out
}

// validateJSON checks that every key of cs.JSON names a JSON column.
func (cs *Collection) validateJSON() error {
	have := jsonColumns(cs.Schema.Columns, "")
	for k := range cs.JSON {
		if !slices.Contains(have, k) {
			return fmt.Errorf("JSON declares the contents of %q, which is not a JSON column (have %s)", k, strings.Join(have, ", "))
		}
	}
	return nil
}

// sampleID stands for an owner in the requests the rules are generated
// for: a GUID, the form of every owner id.
const sampleID = "00000000-0000-0000-0000-000000000000"

// Requests are the requests whose responses the built-in rules of every
// registered connector keep: each collection's first request with its
// response shape. Every connector's rules include the directory endpoints
// (the users an export lists, whose id form _owner takes), so the
// requests are those of every table, not only the connector's own.
func Requests() []rules.Request {
	var out []rules.Request
	for _, t := range Tables() {
		out = append(out, rules.Request{URL: t.SampleRequest(), Shape: t.ResponseShape()})
	}
	return out
}

// SampleRequest is a request whose response holds the collection's
// records: its first request, or for a collection with Steps the last
// step's request, reached from records whose ids are sampleID (only the
// last step's responses are sanitized and written; the pages before it
// are read for their ids and never written).
func (c *Collection) SampleRequest() string {
	req := c.First(sampleID, Window{}, Settings{})
	for _, step := range c.Steps {
		if next := step(sampleID, req, []byte(`{"id":"`+sampleID+`"}`)); next != "" {
			req = next
		}
	}
	return req
}

// Select is the $select of a table: the top-level properties its columns
// read (source names, without annotations such as @odata.type, which
// Graph sends either way, and augment keys, which the sanitizer adds),
// sorted, comma-separated; less except (navigation properties the request
// asks for with $expand). A collection's first request that takes
// $select names exactly these (the registry test checks it), so Graph is
// asked for what the table keeps and nothing more.
func Select(s *sinks.Schema, except ...string) string {
	var out []string
	for i := range s.Columns {
		n := s.Columns[i].SourceName()
		if strings.HasPrefix(n, "@") || strings.HasPrefix(n, "+") || slices.Contains(except, n) {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
