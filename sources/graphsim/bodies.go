package graphsim

import "strings"

// bodyFiller is the text that pads a large event body: meeting notes as
// an HTML paragraph, ASCII so that its JSON is as long as its text.
const bodyFiller = "<p>Notes: review the agenda, the open actions and the next steps before the meeting.</p>"

// eventBody is an event's HTML body around preview, padded with filler
// paragraphs to about size bytes (Options.EventBodyBytes; 0: unpadded).
func eventBody(preview string, size int) string {
	head, tail := "<html><body><p>"+preview+"</p>", "</body></html>"
	n := size - len(head) - len(tail)
	if n <= 0 {
		return head + tail
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(head)
	for i := 0; i < n; i += len(bodyFiller) {
		b.WriteString(bodyFiller)
	}
	b.WriteString(tail)
	return b.String()
}
