package rules

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrNoKey is returned when rules need reversible (p~) pseudonyms but no
// encryption key was given.
var ErrNoKey = errors.New("rules emit reversible p~ pseudonyms but no encryption key is set")

// Secrets are the pseudonymization salt and the key for reversible tokens.
// All are used verbatim, as psoxy uses PSOXY_SALT and PSOXY_ENCRYPTION_KEY.
type Secrets struct {
	Salt string
	Key  string // may be "" when the rules emit no p~ tokens

	// DomainSalt and DomainKey are psoxy's SALT_EMAIL_DOMAINS and
	// ENCRYPTION_KEY_EMAIL_DOMAINS: the salt of h~ and e~ email domains and
	// the key of e~ ones. Empty: Salt and Key are used.
	DomainSalt string
	DomainKey  string
}

// domainSecrets returns the salt and key for email domains, falling back
// to the main ones.
func (s Secrets) domainSecrets() (salt, key string) {
	salt, key = s.DomainSalt, s.DomainKey
	if salt == "" {
		salt = s.Salt
	}
	if key == "" {
		key = s.Key
	}
	return salt, key
}

// DomainHandling is psoxy's EMAIL_DOMAIN_HANDLING: what a pseudonymized
// email address shows after its '@'.
type DomainHandling string

// The email domain handling modes.
const (
	DomainsPreserve DomainHandling = "preserve" // the domain as written (psoxy's default)
	DomainsRedact   DomainHandling = "redact"   // no domain part
	DomainsTokenize DomainHandling = "tokenize" // "h~" + b64url(SHA-256(domain ‖ domain salt))
	DomainsEncrypt  DomainHandling = "encrypt"  // "e~" + b64url(reversible(domain)), with the domain salt and key
)

// ParseDomainHandling accepts preserve, redact, tokenize or encrypt (any
// case, as psoxy's parseConfigPropertyValue); "" is preserve.
func ParseDomainHandling(s string) (DomainHandling, error) {
	switch d := DomainHandling(strings.ToLower(s)); d {
	case "":
		return DomainsPreserve, nil
	case DomainsPreserve, DomainsRedact, DomainsTokenize, DomainsEncrypt:
		return d, nil
	}
	return "", fmt.Errorf("email domain handling %q: want preserve, redact, tokenize or encrypt", s)
}

// pbkdf2Iterations is psoxy's key-derivation cost for AES reversible tokens.
const pbkdf2Iterations = 65536

var keyCache sync.Map // [2]string{key, salt} -> cipher.Block

// pseudonymizer computes psoxy's deterministic and reversible pseudonyms.
type pseudonymizer struct {
	salt  string
	key   string
	block cipher.Block // nil until needed; derived once per (key, salt)
	once  sync.Once
	err   error

	// Email domains: how they are shown, with their own salt and (for
	// encrypt) a cipher derived when the rules are compiled.
	domains DomainHandling
	dsalt   string
	dblock  cipher.Block

	// Pseudonyms of values seen before (a mailbox owner's address is on
	// every message of a page): original value → identity / p~ token.
	// Bounded, in memory only.
	ids, revs sync.Map
	cached    atomic.Int64
	noCache   bool // benchmarks measure the uncached cost
}

// maxCached bounds the pseudonym cache of one ruleset: 16k identities,
// about 4 MiB (64k cost 12 MiB more, at the same end-to-end speed).
const maxCached = 1 << 14

func (p *pseudonymizer) remember(m *sync.Map, k string, v any) {
	if !p.noCache && p.cached.Add(1) <= maxCached {
		m.Store(strings.Clone(k), v)
	}
}

func (p *pseudonymizer) cipher() (cipher.Block, error) {
	p.once.Do(func() {
		if p.key == "" {
			p.err = ErrNoKey
			return
		}
		p.block, p.err = deriveCipher(p.key, p.salt)
	})
	return p.block, p.err
}

// deriveCipher is AES-256 with the key PBKDF2-HMAC-SHA256(key, salt),
// cached per (key, salt).
func deriveCipher(key, salt string) (cipher.Block, error) {
	ck := [2]string{key, salt}
	if b, ok := keyCache.Load(ck); ok {
		return b.(cipher.Block), nil
	}
	k, err := pbkdf2.Key(sha256.New, key, []byte(salt), pbkdf2Iterations, 32)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	keyCache.Store(ck, b)
	return b, nil
}

// hash is SHA-256 over canonical ‖ salt.
func (p *pseudonymizer) hash(canonical string) [32]byte { return saltedHash(canonical, p.salt) }

func saltedHash(s, salt string) [32]byte {
	h := sha256.New()
	h.Write([]byte(s))
	h.Write([]byte(salt))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// handleDomain is psoxy's handleDomain: the domain part of an email
// pseudonym, or ok false for none. The domain is used as parsed (case
// kept), as psoxy does.
func (p *pseudonymizer) handleDomain(domain string) (string, bool) {
	switch p.domains {
	case DomainsRedact:
		return "", false
	case DomainsTokenize:
		h := saltedHash(domain, p.dsalt)
		return "h~" + b64.EncodeToString(h[:]), true
	case DomainsEncrypt:
		h := saltedHash(domain, p.dsalt)
		return "e~" + b64.EncodeToString(sealCBC(p.dblock, h, domain)), true
	}
	return domain, true
}

var b64 = base64.RawURLEncoding

// reversible is hash ‖ AES-256-CBC(key, iv = hash[:16], PKCS#7(original)).
func (p *pseudonymizer) reversible(h [32]byte, original string) ([]byte, error) {
	block, err := p.cipher()
	if err != nil {
		return nil, err
	}
	return sealCBC(block, h, original), nil
}

// sealCBC is h ‖ AES-CBC(block, iv = h[:16], PKCS#7(plaintext)).
func sealCBC(block cipher.Block, h [32]byte, original string) []byte {
	pad := aes.BlockSize - len(original)%aes.BlockSize
	buf := make([]byte, 32+len(original)+pad)
	copy(buf, h[:])
	ct := buf[32:]
	copy(ct, original)
	for i := len(original); i < len(ct); i++ {
		ct[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, h[:16]).CryptBlocks(ct, ct)
	return buf
}

// identity is psoxy's PseudonymizedIdentity before encoding.
type identity struct {
	domain    string
	hasDomain bool
	hash      [32]byte
	original  string
	canonical string
}

// identify canonicalizes a scalar: emails become lower(local, cut at '+')
// @ lower(domain) and keep their domain as written; anything else is
// hashed verbatim (no trimming, no lower-casing).
func (p *pseudonymizer) identify(s string) identity {
	if v, ok := p.ids.Load(s); ok {
		id := v.(identity)
		id.original = s
		return id
	}
	id := p.identifyUncached(s)
	c := id
	c.original, c.canonical, c.domain = "", "", strings.Clone(id.domain)
	p.remember(&p.ids, s, c)
	return id
}

func (p *pseudonymizer) identifyUncached(s string) identity {
	id := identity{original: s}
	if a, ok := parseEmail(s); ok {
		local := strings.ToLower(strings.TrimSpace(a.local))
		if i := strings.IndexByte(local, '+'); i >= 0 {
			local = local[:i]
		}
		domain := strings.TrimSpace(a.domain)
		id.canonical = local + "@" + strings.ToLower(domain)
		id.domain, id.hasDomain = p.handleDomain(domain)
	} else {
		id.canonical = s
	}
	id.hash = p.hash(id.canonical)
	return id
}

// token is the URL-safe "t~hash[@domain]" form.
func (id *identity) token() string {
	n := 2 + 43
	if id.hasDomain {
		n += 1 + len(id.domain)
	}
	b := make([]byte, 0, n)
	b = append(b, "t~"...)
	b = b64.AppendEncode(b, id.hash[:])
	if id.hasDomain {
		b = append(b, '@')
		b = append(b, id.domain...)
	}
	return string(b)
}

// hashString is the bare base64url hash.
func (id *identity) hashString() string { return b64.EncodeToString(id.hash[:]) }

// reversibleToken is the "p~…[@domain]" form.
func (p *pseudonymizer) reversibleToken(id *identity) (string, error) {
	if v, ok := p.revs.Load(id.original); ok {
		return v.(string), nil
	}
	rev, err := p.reversible(id.hash, id.original)
	if err != nil {
		return "", err
	}
	s := "p~" + b64.EncodeToString(rev)
	if id.hasDomain {
		s += "@" + id.domain
	}
	p.remember(&p.revs, id.original, s)
	return s, nil
}

// tokenizeValue is psoxy's tokenize: identity canonicalization, no domain.
func (p *pseudonymizer) tokenizeValue(s string) (string, error) {
	h := p.hash(s)
	rev, err := p.reversible(h, s)
	if err != nil {
		return "", err
	}
	return "p~" + b64.EncodeToString(rev), nil
}

// SaltFingerprint is a short, non-reversible fingerprint of a salt, safe
// to write in manifests: it changes when the salt changes. It is a slow
// hash (PBKDF2, 100,000 rounds) truncated to 72 bits, so that a weak salt
// is costly to guess from it; it takes tens of milliseconds.
func SaltFingerprint(salt string) string {
	k, err := pbkdf2.Key(sha256.New, salt, []byte("m365export salt fingerprint v1"), 100000, 9)
	if err != nil {
		// Only for parameters FIPS mode refuses; fall back to a plain hash.
		h := sha256.Sum256([]byte("m365export salt fingerprint v1\x00" + salt))
		k = h[:9]
	}
	return "pbkdf2:" + b64.EncodeToString(k)
}
