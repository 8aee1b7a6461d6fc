package sinks_test

import (
	"errors"
	"strings"
	"testing"

	"m365export/sinks"
)

func TestSchemaValidate_Errors(t *testing.T) {
	str := sinks.Column{Type: sinks.String}
	cases := []struct {
		name   string
		schema *sinks.Schema
		want   string
	}{
		{"nil", nil, "nil schema"},
		{"version", &sinks.Schema{Version: 0, Columns: []sinks.Column{{Name: "a", Type: sinks.String}}}, "version"},
		{"bad name", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "@odata.type", Type: sinks.String}}}, "invalid name"},
		{"digit first", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "1a", Type: sinks.String}}}, "invalid name"},
		{"reserved", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "_owner", Type: sinks.String}}}, "reserved"},
		{"duplicate", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "id", Type: sinks.String}, {Name: "ID", Source: "x", Type: sinks.String}}}, "duplicate name"},
		{"duplicate source", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "a", Source: "x", Type: sinks.String}, {Name: "b", Source: "x", Type: sinks.String}}}, "duplicate source"},
		{"unknown type", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "a", Type: "uuid"}}}, "unknown type"},
		{"empty struct", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "a", Type: sinks.Struct}}}, "struct without fields"},
		{"list without elem", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "a", Type: sinks.List}}}, "list without element"},
		{"list of lists", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "a", Type: sinks.List, Elem: &sinks.Column{Type: sinks.List, Elem: &str}}}}, "list of lists"},
		{"scalar with fields", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "a", Type: sinks.String, Fields: []sinks.Column{str}}}}, "takes no fields"},
		{"nested bad", &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "a", Type: sinks.Struct, Fields: []sinks.Column{{Name: "b c", Type: sinks.String}}}}}, `"a.b c"`},
	}
	for _, c := range cases {
		err := c.schema.Validate()
		if !errors.Is(err, sinks.ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want ErrConfig mentioning %q", c.name, err, c.want)
		}
	}
	ok := &sinks.Schema{Version: 1, Columns: []sinks.Column{
		{Name: "odata_type", Source: "@odata.type", Type: sinks.String},
		{Name: "to", Type: sinks.List, Elem: &sinks.Column{Type: sinks.Struct, Fields: []sinks.Column{{Name: "_x", Type: sinks.Int64}}}},
		{Name: "start", Type: sinks.DateTimeTimeZone},
	}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
}
