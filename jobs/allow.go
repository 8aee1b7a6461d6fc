package jobs

import (
	"m365export/jobs/connector"
	"m365export/rules"
)

// allowListed is a collection's sanitizer: the run's rules, then the
// table's allow-list (connector.Collection.Shape) on every record. The
// built-in rules already filter by the same allow-list (their generated
// responseSchema); this second pass is what holds a rule file given with
// --rules, and augment keys the rules' filter lets through, to the
// table's columns: nothing beyond them is ever written, not even to
// _extra. Values pass unchanged.
type allowListed struct {
	rs    *rules.Ruleset
	shape *rules.Shape
}

func newAllowListed(rs *rules.Ruleset, cs *connector.Collection) *allowListed {
	return &allowListed{rs: rs, shape: cs.Shape()}
}

// SanitizePage implements pipeline.Sanitizer.
func (a *allowListed) SanitizePage(requestURL string, page []byte) (rules.Page, error) {
	return a.rs.SanitizePageAllowed(requestURL, page, a.shape)
}

// responseShape returns the allow-list of the responses rs answers
// requestURL with: the union of the response shapes of the tables whose
// first request the same endpoint answers (nil when none does, e.g. for a
// rule file that does not allow them). Sanitize applies it, so that it
// shows what an export writes.
func responseShape(rs *rules.Ruleset, requestURL string) *rules.Shape {
	at, err := rs.Endpoint(requestURL)
	if err != nil {
		return nil
	}
	var s *rules.Shape
	for _, t := range connector.Tables() {
		if i, err := rs.Endpoint(t.First("00000000-0000-0000-0000-000000000000", connector.Window{}, connector.Settings{})); err == nil && i == at {
			s = rules.Union(s, t.ResponseShape())
		}
	}
	return s
}
