package graphsim

import "strings"

var (
	firstLower = lowerAll(firstNames)
	lastLower  = lowerAll(lastNames)
)

func lowerAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.ToLower(x)
	}
	return out
}

// person is the cheap, allocation-free view of user i used inside records.
type person struct {
	i           int
	first, last int // indexes into the name lists
	guest       bool
	dom         string // partner domain for guests
}

func (t *Tenant) person(i int) person {
	r := rng{t.h(kUser, int64(i), 2, 0)}
	p := person{i: i, first: r.intn(len(firstNames)), last: r.intn(len(lastNames)), guest: i%50 == 13}
	if p.guest {
		p.dom = partnerDomains[r.intn(len(partnerDomains))]
	}
	return p
}

// hasMailbox reports whether user i has a mailbox (ignores deletion).
func hasMailbox(i int) bool { return i%50 != 7 && i%50 != 13 }

// mailboxDenied reports whether an access policy blocks user i's mailbox.
func mailboxDenied(i int) bool { return i%50 == 23 }

func hasCopilot(i int) bool { return i%50 != 13 && i%5 != 3 }

// hasTeamsLicence reports whether user i has a licence that supports
// getAllMessages' model=A (an E5-like SKU). Assumption: the emulator's
// members all carry its E5 SKU in assignedLicenses; its guests
// (i mod 50 = 13) carry none, so they are the unlicensed users.
func hasTeamsLicence(i int) bool { return i%50 != 13 }

func (p person) appendName(b []byte) []byte {
	b = append(b, firstNames[p.first]...)
	b = append(b, ' ')
	return append(b, lastNames[p.last]...)
}

func (p person) appendLocal(b []byte) []byte {
	b = append(b, firstLower[p.first]...)
	b = append(b, '.')
	b = append(b, lastLower[p.last]...)
	b = append(b, '.')
	return appendInt(b, int64(p.i))
}

// appendAddress appends the user's SMTP address (unquoted).
func (t *Tenant) appendAddress(b []byte, p person) []byte {
	b = p.appendLocal(b)
	b = append(b, '@')
	if p.guest {
		return append(b, p.dom...)
	}
	return append(b, t.opts.domain...)
}

// appendEmailAddress appends {"emailAddress":{"name":…,"address":…}}.
func (t *Tenant) appendEmailAddress(b []byte, i int) []byte {
	p := t.person(i)
	b = append(b, `{"emailAddress":{"name":"`...)
	b = p.appendName(b)
	b = append(b, `","address":"`...)
	b = t.appendAddress(b, p)
	return append(b, `"}}`...)
}

// appendIdentity appends a teamwork user identity: {"id":…,"displayName":…,"userIdentityType":"aadUser","tenantId":…}.
func (t *Tenant) appendIdentity(b []byte, i int, odataType bool) []byte {
	b = append(b, '{')
	if odataType {
		b = append(b, `"@odata.type":"#microsoft.graph.teamworkUserIdentity",`...)
	}
	b = append(b, `"id":"`...)
	b = t.appendObjID(b, kUser, i)
	b = append(b, `","displayName":"`...)
	b = t.person(i).appendName(b)
	b = append(b, `","userIdentityType":"aadUser","tenantId":"`...)
	b = append(b, t.opts.tenantID...)
	return append(b, `"}`...)
}

// appendFromUser appends a chatMessageFromIdentitySet for user i.
func (t *Tenant) appendFromUser(b []byte, i int) []byte {
	b = append(b, `{"application":null,"device":null,"user":`...)
	b = t.appendIdentity(b, i, true)
	return append(b, '}')
}
