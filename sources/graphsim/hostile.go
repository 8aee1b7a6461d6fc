package graphsim

import (
	"bytes"
	"encoding/json"
	"strings"
)

// HostileMarker is in every value the hostile tenant plants
// (Options.Hostile): a scan of an export's output for it finds any
// planted value that leaked, whatever its depth.
const HostileMarker = "zqhostilezq"

// Planted returns the planted text value of the object at path of a
// record: what the key HostileKey holds there. path is "$" for the record
// itself, "$.from.user" for a nested object, "$.attachments[]" for the
// elements of an array; the envelope of a page is "page".
func Planted(path string) string { return HostileMarker + ":" + path + ":note" }

// HostileKey is the key of the planted text value of every object.
const HostileKey = "hostileNote"

// hostile rewrites a JSON response as a hostile tenant would send it: a
// real tenant sends properties the emulator does not (Microsoft documents
// signInActivity, proposedNewTime, locationEmailAddress, members@odata.context
// carrying the user ids of a one-on-one chat, extension_* directory
// attributes, and adds properties over time). To every object of the
// response, at every depth (the page's envelope, every record, every
// nested object, every element of an array of objects), it adds
// properties no rule names:
//
//   - HostileKey, a text naming a person and a phone number (Planted);
//   - hostilePerson, an object with an id and an address;
//   - hostileList, an array of objects with a text;
//   - extension_0f1e2d3c4b5a_hostileCode, an extension-style attribute;
//   - hostile@odata.context, an annotation naming a user;
//
// and to every record members@odata.context (an annotation whose URL
// names user ids) and +hostile:textDigest (a key in the form the
// sanitizer's augments add). An array of scalars gets one more element,
// an object with HostileKey. Every planted string holds HostileMarker and
// the path of the object it was planted in; the emulator's own values
// are left as they are, and so are the page's paging links.
//
// Hostile mode ignores $select: it models properties Graph sends either
// way (annotations, properties it adds), the worst case for the exporter.
func hostile(body []byte) []byte {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return body // not JSON: left as it is
	}
	root, ok := v.(map[string]any)
	if !ok {
		return body
	}
	if list, ok := root["value"].([]any); ok {
		plantObject(root, "page", false)
		for i, e := range list {
			list[i] = plantValue(e, "$", true)
		}
	} else {
		plantObject(root, "$", true)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return body
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// plantValue plants into v (an object, or an array whose elements are
// walked) found at path and returns it.
func plantValue(v any, path string, record bool) any {
	switch x := v.(type) {
	case map[string]any:
		plantObject(x, path, record)
	case []any:
		scalars := len(x) > 0
		for i, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				scalars = false
				x[i] = plantValue(e, path+"[]", false)
			}
		}
		if scalars {
			return append(x, map[string]any{HostileKey: Planted(path + "[]")})
		}
	}
	return v
}

// plantObject walks o's own members, then adds the planted ones.
func plantObject(o map[string]any, path string, record bool) {
	for k, v := range o {
		if k == "value" && path == "page" || strings.HasPrefix(k, "@odata.") {
			continue
		}
		o[k] = plantValue(v, path+"."+k, false)
	}
	at := HostileMarker + ":" + path
	o[HostileKey] = Planted(path) + " Jane Roe asked to call her on +1 555 0100"
	o["hostilePerson"] = map[string]any{"id": at + ":id-6f1c0a7e", "address": "jane.roe." + HostileMarker + "@contoso.example"}
	o["hostileList"] = []any{map[string]any{"text": at + ":list"}}
	o["extension_0f1e2d3c4b5a_hostileCode"] = at + ":extension"
	o["hostile@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#users('" + at + ":annotation')"
	if record {
		o["members@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#chats('19%3A" + at + "%40unq.gbl.spaces')/members"
		o["+hostile:textDigest"] = at + ":augment"
	}
}
