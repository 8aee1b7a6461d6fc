package graph

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestScanLinks_CountsRecords(t *testing.T) {
	for in, want := range map[string]int{
		`{"value":[]}`: 0,
		`{"@odata.context":"x","value":[{"id":"1","v":[1,2]}, {"id":"]"} ,3],"@odata.nextLink":"n"}`: 3,
		`{"mailboxSettings":{"value":[1,2]}}`:                                                        0,
		`{"value":{"a":[1]}}`:                                                                        0,
	} {
		l, err := scanLinks([]byte(in))
		if err != nil || l.records != want {
			t.Errorf("scanLinks(%s) records %d, %v; want %d", in, l.records, err, want)
		}
	}
	if _, err := scanLinks([]byte(`{"value":[1,2 3]}`)); err == nil {
		t.Error("a malformed value array was accepted")
	}
}

// TestCollection_LowersTopToPageBytes: once pages were read, each owner's
// first request asks for as many records as fit in PageBytes, by the
// bytes a record took; a $top already smaller stays, and without PageBytes
// the connector's $top is sent as it is.
func TestCollection_LowersTopToPageBytes(t *testing.T) {
	var mu sync.Mutex
	var got []string
	rec := strings.Repeat("x", 90) // a page of 1001 bytes: 100 a record
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.RawQuery)
		mu.Unlock()
		var b strings.Builder
		b.WriteString(`{"value":[`)
		for i := range 10 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"id":"` + rec[:90-1] + `"}`)
		}
		b.WriteString(`]}`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(b.String()))
	}))
	defer srv.Close()
	c, err := New(fastOptions(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pageBytes int64
		first     string
		want      []string // queries of the first and second owner
	}{
		{0, "/v1.0/users/a/messages?$top=1000", []string{"$top=1000", "$top=1000"}},
		{2000, "/v1.0/users/a/messages?$select=id&$top=1000&$filter=x", []string{"$select=id&$top=1000&$filter=x", "$select=id&$top=20&$filter=x"}},
		{100000, "/v1.0/users/a/messages?$top=50", []string{"$top=50", "$top=50"}},
		{10, "/v1.0/users/a/messages?%24top=500", []string{"%24top=500", "%24top=10"}}, // never under minTop
		{2000, "/v1.0/users/a/mailboxSettings", []string{"", ""}},
	} {
		got = nil
		col := &Collection{Client: c, First: func(string) string { return tc.first }, PageBytes: tc.pageBytes}
		for _, o := range []string{"a", "b"} {
			if _, err := col.Page(t.Context(), o, ""); err != nil {
				t.Fatal(err)
			}
		}
		if strings.Join(got, " | ") != strings.Join(tc.want, " | ") {
			t.Errorf("PageBytes %d, %s: queries %q, want %q", tc.pageBytes, tc.first, got, tc.want)
		}
	}
}
