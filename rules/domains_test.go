package rules

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Known answers for psoxy's EMAIL_DOMAIN_HANDLING (psoxy-rules.md §2.4),
// computed here from the spec's text with the crypto primitives directly,
// never with the code under test:
//
//	hash      = SHA-256(canonical ‖ salt)                  (§2.3)
//	t~        = "t~" + b64url(hash) [+ "@" + domain part]  (§2.4)
//	p~        = "p~" + b64url(hash ‖ AES-256-CBC(PBKDF2(key, salt), iv = hash[:16], original)) [+ "@" + domain part] (§2.5)
//	redact:   no domain part
//	tokenize: "h~" + b64url(SHA-256(domain ‖ domain salt)), domain as parsed (case kept)
//	encrypt:  "e~" + b64url(reversible(domain)), the §2.5 construction with the domain salt and key
//
// The domain salt and key fall back to the main ones.

var katB64 = base64.RawURLEncoding

func katSHA(s, salt string) []byte {
	h := sha256.Sum256([]byte(s + salt))
	return h[:]
}

func katReversible(t *testing.T, plain, salt, key string) []byte {
	t.Helper()
	h := katSHA(plain, salt)
	k, err := pbkdf2.Key(sha256.New, key, []byte(salt), 65536, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	n := 16 - len(plain)%16
	ct := []byte(plain + strings.Repeat(string(rune(n)), n))
	cipher.NewCBCEncrypter(block, h[:16]).CryptBlocks(ct, ct)
	return append(h, ct...)
}

// katReversibleEmail is §2.5 for an email: the hash is over the canonical
// address, the plaintext is the original value.
func katReversibleEmail(t *testing.T, canonical, original, salt, key string) []byte {
	t.Helper()
	h := katSHA(canonical, salt)
	k, err := pbkdf2.Key(sha256.New, key, []byte(salt), 65536, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	n := 16 - len(original)%16
	ct := []byte(original + strings.Repeat(string(rune(n)), n))
	cipher.NewCBCEncrypter(block, h[:16]).CryptBlocks(ct, ct)
	return append(h, ct...)
}

const domainRules = `
endpoints:
  - pathRegex: "^/x.*"
    transforms:
      - !<pseudonymize> {jsonPaths: ["$.t"]}
      - !<pseudonymize> {jsonPaths: ["$.j"], encoding: JSON}
      - !<pseudonymize> {jsonPaths: ["$.p"], includeReversible: true}
      - !<pseudonymize> {jsonPaths: ["$.h"], encoding: URL_SAFE_HASH_ONLY}
      - !<pseudonymizeRegexMatches> {jsonPaths: ["$.r"], regex: "(?i)^smtp:(.*)$"}
      - !<pseudonymize> {jsonPaths: ["$.id"]}
`

var domainAddrs = []struct{ in, canonical, domain string }{
	{"MeganB@M365x214355.onmicrosoft.com", "meganb@m365x214355.onmicrosoft.com", "M365x214355.onmicrosoft.com"},
	{"Alex.Wilber+Newsletters@Contoso.COM", "alex.wilber@contoso.com", "Contoso.COM"},
	{"adele.vance@eu.mail.contoso.com", "adele.vance@eu.mail.contoso.com", "eu.mail.contoso.com"},
	{"Megan Bowen <MeganB@Sales.M365x214355.onmicrosoft.com>", "meganb@sales.m365x214355.onmicrosoft.com", "Sales.M365x214355.onmicrosoft.com"},
}

func jsonQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func TestEmailDomains_KnownAnswers(t *testing.T) {
	const id = "48d31887-5fad-4d73-a9f5-3c356e68a038"
	for _, sec := range []struct {
		name                  string
		s                     Secrets
		domainSalt, domainKey string
	}{
		{"fallback to salt and key", Secrets{Salt: "salt", Key: "secret"}, "salt", "secret"},
		{"separate domain salt and key", Secrets{Salt: "salt", Key: "secret", DomainSalt: "domain-salt", DomainKey: "domain-key"}, "domain-salt", "domain-key"},
	} {
		for _, mode := range []DomainHandling{DomainsPreserve, DomainsRedact, DomainsTokenize, DomainsEncrypt} {
			domainPart := func(d string) (string, bool) {
				switch mode {
				case DomainsRedact:
					return "", false
				case DomainsTokenize:
					return "h~" + katB64.EncodeToString(katSHA(d, sec.domainSalt)), true
				case DomainsEncrypt:
					return "e~" + katB64.EncodeToString(katReversible(t, d, sec.domainSalt, sec.domainKey)), true
				}
				return d, true
			}
			t.Run(sec.name+"/"+string(mode), func(t *testing.T) {
				r, err := Compile("test.yaml", []byte(domainRules), sec.s, WithEmailDomains(mode))
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range domainAddrs {
					hash := katB64.EncodeToString(katSHA(a.canonical, "salt"))
					rev := katB64.EncodeToString(katReversibleEmail(t, a.canonical, a.in, "salt", "secret"))
					dp, has := domainPart(a.domain)
					at, jsonDomain := "", ""
					if has {
						at, jsonDomain = "@"+dp, `\"domain\":\"`+dp+`\",`
					}
					in := `{"t":` + jsonQuote(a.in) + `,"j":` + jsonQuote(a.in) + `,"p":` + jsonQuote(a.in) +
						`,"h":` + jsonQuote(a.in) + `,"r":` + jsonQuote("SMTP:"+a.in) + `,"id":"` + id + `"}`
					want := `{"t":"t~` + hash + at + `","j":"{` + jsonDomain + `\"hash\":\"` + hash + `\"}","p":"p~` + rev + at +
						`","h":"` + hash + `","r":"SMTP:t~` + hash + at + `","id":"t~` + katB64.EncodeToString(katSHA(id, "salt")) + `"}`
					got, err := r.Sanitize("/x", []byte(in))
					if err != nil {
						t.Fatal(err)
					}
					if string(got) != want {
						t.Errorf("%s:\ngot  %s\nwant %s", a.in, got, want)
					}
				}
			})
		}
	}
}

// An e~ domain decrypts back to the domain as written, with the domain key.
func TestEmailDomains_EncryptDecrypts(t *testing.T) {
	s := Secrets{Salt: "salt", Key: "secret", DomainSalt: "ds", DomainKey: "dk"}
	r, err := Compile("test.yaml", []byte(domainRules), s, WithEmailDomains(DomainsEncrypt))
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Sanitize("/x", []byte(`{"t":"Alex.Wilber+x@Contoso.COM"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, enc, ok := strings.Cut(strings.Trim(string(out), `{}"`), "@e~")
	if !ok {
		t.Fatalf("no e~ domain in %s", out)
	}
	raw, err := katB64.DecodeString(enc)
	if err != nil || len(raw) < 48 {
		t.Fatalf("e~ part %q: %v", enc, err)
	}
	k, _ := pbkdf2.Key(sha256.New, "dk", []byte("ds"), 65536, 32)
	block, _ := aes.NewCipher(k)
	pt := make([]byte, len(raw)-32)
	cipher.NewCBCDecrypter(block, raw[:16]).CryptBlocks(pt, raw[32:])
	pt = pt[:len(pt)-int(pt[len(pt)-1])]
	if string(pt) != "Contoso.COM" {
		t.Errorf("decrypted domain %q, want Contoso.COM", pt)
	}
	if h := katSHA("Contoso.COM", "ds"); string(raw[:32]) != string(h) {
		t.Error("e~ does not start with SHA-256(domain ‖ domain salt)")
	}
}

func TestEmailDomains_Hash(t *testing.T) {
	s := Secrets{Salt: "salt", Key: "secret"}
	hash := func(s Secrets, m DomainHandling) string {
		t.Helper()
		r, err := Compile("test.yaml", []byte(domainRules), s, WithEmailDomains(m))
		if err != nil {
			t.Fatal(err)
		}
		return r.Hash()
	}
	// preserve is today's hash: the rule text's alone.
	sum := sha256.Sum256([]byte(domainRules))
	if got, want := hash(s, DomainsPreserve), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("preserve hash %s, want %s", got, want)
	}
	if got := mustRules(t, domainRules).Hash(); got != hash(s, DomainsPreserve) {
		t.Errorf("default hash %s differs from preserve", got)
	}
	seen := map[string]DomainHandling{}
	for _, m := range []DomainHandling{DomainsPreserve, DomainsRedact, DomainsTokenize, DomainsEncrypt} {
		h := hash(s, m)
		if prev, ok := seen[h]; ok {
			t.Errorf("%s and %s have the same rules hash", prev, m)
		}
		seen[h] = m
	}
	// A separate domain salt changes h~ and e~ domains, so the hash too.
	ds := s
	ds.DomainSalt = "other"
	if hash(ds, DomainsTokenize) == hash(s, DomainsTokenize) {
		t.Error("domain salt does not change the tokenize rules hash")
	}
	if hash(ds, DomainsRedact) != hash(s, DomainsRedact) || hash(ds, DomainsPreserve) != hash(s, DomainsPreserve) {
		t.Error("domain salt changes the hash of a mode that does not use it")
	}
}

func TestEmailDomains_Errors(t *testing.T) {
	if _, err := Compile("t", []byte(domainRules), Secrets{Salt: "salt"}, WithEmailDomains(DomainsEncrypt)); !errors.Is(err, ErrNoKey) {
		t.Errorf("encrypt without a key: %v, want ErrNoKey", err)
	}
	if _, err := Compile("t", []byte(domainRules), Secrets{Salt: "salt", DomainKey: "dk"}, WithEmailDomains(DomainsEncrypt)); err != nil {
		t.Errorf("encrypt with only a domain key: %v", err)
	}
	if _, err := Compile("t", []byte(domainRules), Secrets{Salt: "salt"}, WithEmailDomains("hash")); err == nil {
		t.Error("unknown mode accepted")
	}
	for in, want := range map[string]DomainHandling{"": DomainsPreserve, "TOKENIZE": DomainsTokenize, "Encrypt": DomainsEncrypt, "redact": DomainsRedact} {
		if got, err := ParseDomainHandling(in); err != nil || got != want {
			t.Errorf("ParseDomainHandling(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
