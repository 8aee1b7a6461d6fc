package rules

import "strings"

// emailAddress is what psoxy's EmailAddressParser extracts from a mailbox.
type emailAddress struct {
	local, domain string
}

// parseEmail recognises the RFC 2822 "mailbox" forms psoxy accepts
// (Bottema's validator with quoted identifiers, parentheses in quoted local
// parts and domain literals): addr-spec ("a.b@example.com", optionally with
// comments or white space around the parts) and name-addr
// ("Display Name <a@example.com>"). It is a hand-written parser for that
// grammar; the whole string must match.
func parseEmail(s string) (emailAddress, bool) {
	if len(s) < 3 || strings.IndexByte(s, '@') < 0 {
		return emailAddress{}, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == 0 {
			return emailAddress{}, false // the grammar is ASCII only
		}
	}
	// addr-spec form (psoxy tries name-addr first, but an addr-spec never
	// contains '<', so the order does not matter).
	if strings.IndexByte(s, '<') < 0 {
		p := emailParser{s: s}
		a, ok := p.addrSpec()
		if !ok {
			return emailAddress{}, false
		}
		p.cfws()
		if p.i != len(s) {
			return emailAddress{}, false
		}
		return a, true
	}
	p := emailParser{s: s}
	p.cfws()
	if p.peek() != '<' {
		if !p.phrase() {
			return emailAddress{}, false
		}
		p.cfws()
	}
	if p.peek() != '<' {
		return emailAddress{}, false
	}
	p.i++
	a, ok := p.addrSpec()
	if !ok || p.peek() != '>' {
		return emailAddress{}, false
	}
	p.i++
	p.cfws()
	if p.i != len(s) {
		return emailAddress{}, false
	}
	return a, true
}

type emailParser struct {
	s string
	i int
}

func (p *emailParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

// fws skips folding white space: [*WSP CRLF] 1*WSP.
func (p *emailParser) fws() bool {
	start := p.i
	j := p.i
	for j < len(p.s) && isWSP(p.s[j]) {
		j++
	}
	if j+1 < len(p.s) && p.s[j] == '\r' && p.s[j+1] == '\n' {
		k := j + 2
		if k < len(p.s) && isWSP(p.s[k]) {
			for k < len(p.s) && isWSP(p.s[k]) {
				k++
			}
			p.i = k
			return true
		}
	}
	p.i = j
	return p.i > start
}

// comment skips one (non-nested) RFC 2822 comment.
func (p *emailParser) comment() bool {
	if p.peek() != '(' {
		return false
	}
	j := p.i + 1
	for j < len(p.s) {
		c := p.s[j]
		switch {
		case c == ')':
			p.i = j + 1
			return true
		case c == '\\' && j+1 < len(p.s) && p.s[j+1] != '\r' && p.s[j+1] != '\n':
			j += 2
		case c == '(' || c == '\\':
			return false
		case c == '\r' || c == '\n':
			save := p.i
			p.i = j
			if !p.fws() {
				p.i = save
				return false
			}
			j = p.i
			p.i = save
		default:
			j++
		}
	}
	return false
}

func (p *emailParser) cfws() {
	for {
		a := p.fws()
		b := p.comment()
		if !a && !b {
			return
		}
	}
}

func (p *emailParser) dotAtom() (string, bool) {
	start := p.i
	for {
		n := p.i
		for p.i < len(p.s) && isAtext(p.s[p.i]) {
			p.i++
		}
		if p.i == n {
			p.i = start
			return "", false
		}
		if p.peek() != '.' || p.i+1 >= len(p.s) || !isAtext(p.s[p.i+1]) {
			return p.s[start:p.i], true
		}
		p.i++
	}
}

func (p *emailParser) quoted() (string, bool) {
	if p.peek() != '"' {
		return "", false
	}
	start := p.i
	j := p.i + 1
	for j < len(p.s) {
		c := p.s[j]
		switch {
		case c == '"':
			p.i = j + 1
			return p.s[start:p.i], true
		case c == '\\' && j+1 < len(p.s) && p.s[j+1] != '\r' && p.s[j+1] != '\n':
			j += 2
		case c == '\\' || c == '\r' || c == '\n':
			return "", false
		default:
			j++
		}
	}
	return "", false
}

func (p *emailParser) addrSpec() (emailAddress, bool) {
	p.cfws()
	local, ok := p.dotAtom()
	if !ok {
		if local, ok = p.quoted(); !ok {
			return emailAddress{}, false
		}
	}
	p.cfws()
	if p.peek() != '@' {
		return emailAddress{}, false
	}
	p.i++
	p.cfws()
	domain, ok := p.dotAtom()
	if !ok {
		if domain, ok = p.domainLiteral(); !ok {
			return emailAddress{}, false
		}
	}
	p.cfws()
	// Redundant quotes around the local part are removed.
	if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		q := emailParser{s: local[1 : len(local)-1]}
		if _, ok := q.dotAtom(); ok && q.i == len(q.s) {
			local = q.s
		}
	}
	return emailAddress{local: local, domain: domain}, true
}

func (p *emailParser) domainLiteral() (string, bool) {
	if p.peek() != '[' {
		return "", false
	}
	start := p.i
	j := p.i + 1
	for j < len(p.s) {
		c := p.s[j]
		switch {
		case c == ']':
			p.i = j + 1
			return p.s[start:p.i], true
		case c == '[':
			return "", false
		case c == '\\' && j+1 < len(p.s):
			j += 2
		default:
			j++
		}
	}
	return "", false
}

// phrase skips a display name: words (atoms or quoted strings) separated by white space.
func (p *emailParser) phrase() bool {
	n := 0
	for {
		p.cfws()
		if _, ok := p.quoted(); ok {
			n++
			continue
		}
		start := p.i
		for p.i < len(p.s) && isAtext(p.s[p.i]) {
			p.i++
		}
		if p.i == start {
			return n > 0
		}
		n++
	}
}
