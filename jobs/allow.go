package jobs

import (
	"fmt"

	"m365export/jobs/connector"
	"m365export/pipeline"
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
	rs    pipeline.Sanitizer
	shape *rules.Shape
	table string
}

func newAllowListed(rs pipeline.Sanitizer, cs *connector.Collection) *allowListed {
	return &allowListed{rs: rs, shape: cs.Shape(), table: cs.Name}
}

// SanitizePage implements pipeline.Sanitizer.
func (a *allowListed) SanitizePage(requestURL string, page []byte) (rules.Page, error) {
	p, err := a.rs.SanitizePage(requestURL, page)
	if err != nil {
		return p, err
	}
	for i := range p.Records {
		out, err := a.shape.Filter(p.Records[i].Sanitized)
		if err != nil {
			return rules.Page{}, fmt.Errorf("table %s allow-list: %w", a.table, err)
		}
		p.Records[i].Sanitized = out
	}
	return p, nil
}
