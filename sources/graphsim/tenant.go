package graphsim

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Tenant is the synthetic directory and its content, derived lazily from a
// seed: user i, group g, chat c and every record are pure functions of
// (seed, indices), so a tenant of 100k users costs almost no memory. The only
// mutable state is the emulated clock and users deleted during a run.
type Tenant struct {
	seed  uint64
	users int
	opts  tenantOpts

	now   atomic.Int64 // emulated clock, ms since epoch
	mask  uint32
	steps [4]int64 // chat kinds' member strides

	mu      sync.RWMutex
	deleted map[int]int64 // user index -> change sequence number
	seq     int64         // directory change sequence
	changes []change      // directory change log, in sequence order

	schedMu sync.Mutex
	sched   map[int64][]uint64 // day -> its scheduled meetings as org<<32|call index, sorted (scheduledOn)
}

type change struct {
	seq  int64
	user int
}

type tenantOpts struct {
	historyDays     int
	mailPerDay      float64
	eventsPerDay    float64
	chatMsgsPerDay  float64
	chanMsgsPerDay  float64
	callsPerUserDay float64
	copilotPerDay   float64
	tenantID        string
	domain          string
	malformedTS     bool // Options.MalformedTimestamp
	eventBodyBytes  int  // Options.EventBodyBytes
}

// Chat kinds: size and type of the chats built over the user ring.
var chatKinds = [4]struct {
	size int
	typ  string
}{
	{2, "oneOnOne"},
	{3, "group"},
	{6, "group"},
	{4, "meeting"},
}

func newTenant(o *Options) *Tenant {
	t := &Tenant{seed: mix(uint64(o.Seed) ^ 0x6d3635657870), users: o.Users, deleted: map[int]int64{}}
	t.opts = tenantOpts{
		historyDays:     o.HistoryDays,
		mailPerDay:      o.MessagesPerUserDay,
		eventsPerDay:    o.EventsPerUserDay,
		chatMsgsPerDay:  o.ChatMessagesPerChatDay,
		chanMsgsPerDay:  o.ChannelMessagesPerChannelDay,
		callsPerUserDay: o.CallsPerUserDay,
		copilotPerDay:   o.CopilotPerUserDay,
		malformedTS:     o.MalformedTimestamp,
		eventBodyBytes:  o.EventBodyBytes,
	}
	t.now.Store(o.Now.UnixMilli())
	t.mask = uint32(t.h(kMask, 0, 0, 0))
	tid := t.h(kMask, 1, 0, 0)
	t.opts.tenantID = string(appendUUID(nil, tid&^0xf000|0x4000, t.h(kMask, 2, 0, 0)&^(3<<62)|1<<63))
	t.opts.domain = "simcorp" + strconv.FormatUint(tid%9000+1000, 10) + ".onmicrosoft.com"
	for k := range t.steps {
		t.steps[k] = 1
		if t.users > 2 {
			t.steps[k] = 1 + int64(t.h(kChat, -1, int64(k), 0)%uint64(t.users-1))
		}
	}
	return t
}

// ID returns the tenant (directory) id.
func (t *Tenant) ID() string { return t.opts.tenantID }

// Domain returns the tenant's primary domain.
func (t *Tenant) Domain() string { return t.opts.domain }

// Now returns the emulated clock: data exists only before it.
func (t *Tenant) Now() time.Time { return time.UnixMilli(t.now.Load()).UTC() }

// Users returns the number of users ever created (deleted ones included).
func (t *Tenant) Users() int { return t.users }

func (t *Tenant) nowMS() int64 { return t.now.Load() }

// firstDay is the first day (days since epoch) that holds data.
func (t *Tenant) firstDay() int64 { return floorDiv(t.nowMS(), 86400000) - int64(t.opts.historyDays) }

// ---------------------------------------------------------------------------
// Identifiers that carry their index, so lookups need no table.

func (t *Tenant) objID(kind uint64, i int) (hi, lo uint64) {
	hi = t.h(kind, int64(i), 0, 0)&^0xf000 | 0x4000
	lo = t.h(kind, int64(i), 1, 0)&0x3fffffff00000000 | 1<<63 | uint64(t.perm(uint32(i)))
	return
}

// perm is a seeded bijection on 32 bits that hides indexes in ids; unperm
// inverts it.
func (t *Tenant) perm(x uint32) uint32 {
	x ^= t.mask
	x *= permMul
	x ^= x >> 16
	x *= permMul2
	return x ^ x>>16
}

func (t *Tenant) unperm(x uint32) uint32 {
	x ^= x >> 16
	x *= permInv2
	x ^= x >> 16
	x *= permInv
	return x ^ t.mask
}

const (
	permMul  uint32 = 0x9e3779b1
	permMul2 uint32 = 0x85ebca6b
)

var permInv, permInv2 = inverse32(permMul), inverse32(permMul2)

// inverse32 is the multiplicative inverse of odd a modulo 2^32 (Newton).
func inverse32(a uint32) uint32 {
	x := a
	for i := 0; i < 5; i++ {
		x *= 2 - a*x
	}
	return x
}

func (t *Tenant) appendObjID(b []byte, kind uint64, i int) []byte {
	hi, lo := t.objID(kind, i)
	return appendUUID(b, hi, lo)
}

// objIndex decodes an id made by objID; n is the number of such objects.
func (t *Tenant) objIndex(kind uint64, id string, n int) (int, bool) {
	hi, lo, ok := parseUUID(id)
	if !ok {
		return 0, false
	}
	i := int(t.unperm(uint32(lo)))
	if i < 0 || i >= n {
		return 0, false
	}
	h2, l2 := t.objID(kind, i)
	if h2 != hi || l2 != lo {
		return 0, false
	}
	return i, true
}

// UserID returns the object id of user i.
func (t *Tenant) UserID(i int) string { return string(t.appendObjID(nil, kUser, i)) }

func (t *Tenant) userIndex(id string) (int, bool) { return t.objIndex(kUser, id, t.users) }

// ---------------------------------------------------------------------------
// Users.

var (
	firstNames = []string{"Ada", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ingrid", "Jamal",
		"Keiko", "Lars", "Mina", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tove", "Uma", "Viktor",
		"Wen", "Ximena", "Yusuf", "Zofia", "Amara", "Bastian", "Carmen", "Dev", "Esme", "Felix", "Gianni", "Hana",
		"Ivo", "Joon", "Kofi", "Leila", "Mateo", "Noor"}
	lastNames = []string{"Abara", "Brandt", "Castell", "Dalca", "Eriksen", "Fontaine", "Galvez", "Hartmann", "Ibsen",
		"Jovanovic", "Kowal", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrova", "Quist", "Rinaldi", "Sato",
		"Tanaka", "Ulloa", "Varga", "Weller", "Xu", "Yilmaz", "Zamora", "Achebe", "Bianchi", "Costa", "Dubois"}
	jobTitles = []string{"Software Engineer", "Senior Software Engineer", "Product Manager", "Designer",
		"Data Analyst", "Sales Representative", "Account Executive", "Marketing Specialist", "HR Generalist",
		"Finance Analyst", "Engineering Manager", "Support Engineer", "Recruiter", "Legal Counsel", "Director"}
	departments = []string{"Engineering", "Product", "Design", "Sales", "Marketing", "People", "Finance", "Legal", "Support"}
	offices     = []string{"Berlin", "Lisbon", "Toronto", "Austin", "Singapore", "Nairobi", "Remote"}
	languages   = []string{"en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-PT", "ja-JP"}
	timeZones   = []string{"Pacific Standard Time", "Eastern Standard Time", "W. Europe Standard Time",
		"GMT Standard Time", "Singapore Standard Time", "E. Africa Standard Time"}
	partnerDomains = []string{"partner.example", "agency.example", "contractor.example"}
)

// Well-known licence SKUs (synthetic GUIDs) put into assignedLicenses.
const (
	skuE5      = "c7df2760-2c81-4ef7-b578-5b5392b571df"
	skuCopilot = "639dec6b-bb19-468b-871c-c5c441c4b0cb"
)

// UserInfo describes user i as the emulator serves it, for tests.
type UserInfo struct {
	Index       int
	ID          string
	DisplayName string
	UPN         string
	Mail        string // "" for users without a mail attribute
	Guest       bool   // userType Guest: no mailbox in this tenant
	Mailbox     bool   // has an Exchange mailbox (mail, calendar, settings)
	Copilot     bool   // holds a Microsoft 365 Copilot licence
	Denied      bool   // an application access policy denies its mailbox (403)
	Enabled     bool   // accountEnabled
	Deleted     bool   // deleted during the run
}

// User classes are placed by index so that small tenants have each class:
// within every block of 50 users, index 7 has no mailbox, 13 is a guest, 23
// has its mailbox denied by policy, 31 is disabled; every user whose index
// is 3 mod 5 lacks a Copilot licence. User 0 is always an ordinary licensed
// member.
func (t *Tenant) userInfo(i int) UserInfo {
	u := UserInfo{Index: i, ID: t.UserID(i), Enabled: true, Mailbox: true}
	switch i % 50 {
	case 7:
		u.Mailbox = false
	case 13:
		u.Guest, u.Mailbox = true, false
	case 23:
		u.Denied = true
	case 31:
		u.Enabled = false
	}
	u.Copilot = !u.Guest && i%5 != 3
	r := rng{t.h(kUser, int64(i), 2, 0)}
	first, last := pick(&r, firstNames), pick(&r, lastNames)
	u.DisplayName = first + " " + last
	local := strings.ToLower(first) + "." + strings.ToLower(last) + "." + strconv.Itoa(i)
	if u.Guest {
		dom := pick(&r, partnerDomains)
		u.Mail = local + "@" + dom
		u.UPN = local + "_" + dom + "#EXT#@" + t.opts.domain
	} else {
		u.UPN = local + "@" + t.opts.domain
		if u.Mailbox {
			u.Mail = u.UPN
		}
	}
	u.Deleted = t.isDeleted(i)
	return u
}

// User describes user i (0 ≤ i < Users()).
func (t *Tenant) User(i int) UserInfo { return t.userInfo(i) }

func (t *Tenant) isDeleted(i int) bool {
	t.mu.RLock()
	_, ok := t.deleted[i]
	t.mu.RUnlock()
	return ok
}

// DeleteUser deletes user i as an administrator would during a run: it
// disappears from /users, /users/delta reports it as @removed, and its
// mailbox, chats and Copilot history answer 404 Request_ResourceNotFound.
func (t *Tenant) DeleteUser(i int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.deleted[i]; ok || i < 0 || i >= t.users {
		return
	}
	t.seq++
	t.deleted[i] = t.seq
	t.changes = append(t.changes, change{seq: t.seq, user: i})
}

func (t *Tenant) dirSeq() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.seq
}

// changesSince returns the users deleted after sequence number s.
func (t *Tenant) changesSince(s int64) []change {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []change
	for _, c := range t.changes {
		if c.seq > s {
			out = append(out, c)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Groups and teams.

// Groups: group 0 is "All Company" (every user); the others have 3–40
// members drawn from the directory. Every third group (g%3 == 1) is a team.
func (t *Tenant) groups() int {
	n := t.users / 10
	if n < 9 {
		n = 9
	}
	return n
}

func (t *Tenant) isTeam(g int) bool { return g%3 == 1 }

func (t *Tenant) teams() int { return (t.groups() + 1) / 3 }

// teamGroup maps team index k to its group index.
func teamGroup(k int) int { return 3*k + 1 }

func (t *Tenant) GroupID(g int) string { return string(t.appendObjID(nil, kGroup, g)) }

func (t *Tenant) groupIndex(id string) (int, bool) { return t.objIndex(kGroup, id, t.groups()) }

var groupTopics = []string{"Platform", "Growth", "Onboarding", "Pricing", "Field Sales", "Brand", "Security",
	"Data", "Mobile", "Billing", "Research", "Partnerships", "Operations", "Compliance", "Community"}

func (t *Tenant) groupName(g int) string {
	if g == 0 {
		return "All Company"
	}
	r := rng{t.h(kGroup, int64(g), 2, 0)}
	return pick(&r, groupTopics) + " " + strconv.Itoa(g)
}

// groupSize is the number of member slots of group g (slots may repeat a
// user; only the first occurrence counts).
func (t *Tenant) groupSize(g int) int {
	if g == 0 {
		return t.users
	}
	return 3 + int(t.h(kGroup, int64(g), 3, 0)%38)
}

// groupMember returns the user in slot k of group g and whether the slot is
// the user's first in that group.
func (t *Tenant) groupMember(g, k int) (int, bool) {
	if g == 0 {
		return k, true
	}
	u := int(t.h(kGroupMember, int64(g), int64(k), 0) % uint64(t.users))
	for j := 0; j < k; j++ {
		if int(t.h(kGroupMember, int64(g), int64(j), 0)%uint64(t.users)) == u {
			return u, false
		}
	}
	return u, true
}

// ---------------------------------------------------------------------------
// Channels: team k has 1–5 channels; channel 0 is General.

func (t *Tenant) channels(team int) int { return 1 + int(t.h(kChannel, int64(team), -1, 0)%5) }

func (t *Tenant) appendChannelID(b []byte, team, ch int) []byte {
	b = append(b, "19:"...)
	hi := t.h(kChannel, int64(team), int64(ch), 0)
	lo := t.h(kChannel, int64(team), int64(ch), 1)&0xffffff0000000000 | uint64(t.perm(uint32(team)))<<8 | uint64(ch)
	b = appendHex64(b, hi)
	b = appendHex64(b, lo)
	return append(b, "@thread.tacv2"...)
}

func (t *Tenant) ChannelID(team, ch int) string { return string(t.appendChannelID(nil, team, ch)) }

func (t *Tenant) channelIndex(team int, id string) (int, bool) {
	if !strings.HasPrefix(id, "19:") || !strings.HasSuffix(id, "@thread.tacv2") || len(id) != 3+32+13 {
		return 0, false
	}
	var lo uint64
	for i := 3 + 16; i < 3+32; i++ {
		v, ok := unhex(id[i])
		if !ok {
			return 0, false
		}
		lo = lo<<4 | uint64(v)
	}
	ch := int(lo & 0xff)
	if ch >= t.channels(team) || int(t.unperm(uint32(lo>>8))) != team {
		return 0, false
	}
	if t.ChannelID(team, ch) != id {
		return 0, false
	}
	return ch, true
}

var channelNames = []string{"Announcements", "Planning", "Random", "Releases", "Customers", "Incidents", "Ideas"}

func (t *Tenant) channelName(team, ch int) string {
	if ch == 0 {
		return "General"
	}
	r := rng{t.h(kChannel, int64(team), int64(ch), 2)}
	return pick(&r, channelNames)
}

// teamMembers yields the members of team k (its group's members, each
// once, deleted users included).
func (t *Tenant) teamMembers(team int) func(yield func(int) bool) {
	return func(yield func(int) bool) {
		g := teamGroup(team)
		for k, n := 0, t.groupSize(g); k < n; k++ {
			if u, first := t.groupMember(g, k); first && !yield(u) {
				return
			}
		}
	}
}

// teamMember returns a member of team k (a member of its group) chosen by x.
func (t *Tenant) teamMember(team int, x uint64) int {
	g := teamGroup(team)
	n := t.groupSize(g)
	u, _ := t.groupMember(g, int(x%uint64(n)))
	return u
}

// ---------------------------------------------------------------------------
// Chats: kind j's chats are built over a ring of users with stride
// steps[j], chat (j, b) has members b, b+s, b+2s, … (mod users), so the
// chats of a user are found without any index: user u sits at position k of
// chat (j, u − k·s).

func (t *Tenant) chatMembers(j, base int) []int {
	n := chatKinds[j].size
	if n > t.users {
		n = t.users
	}
	out := make([]int, 0, n)
outer:
	for k := 0; k < n; k++ {
		u := int((int64(base) + int64(k)*t.steps[j]) % int64(t.users))
		for _, v := range out {
			if v == u {
				continue outer
			}
		}
		out = append(out, u)
	}
	return out
}

// chatOf returns the chat at slot s of user u: kind j, base b, and whether
// the slot is real (the user's first position in a chat with ≥ 2 members).
func (t *Tenant) chatOf(u, slot int) (j, base int, ok bool) {
	for j = 0; j < len(chatKinds); j++ {
		if slot < chatKinds[j].size {
			break
		}
		slot -= chatKinds[j].size
	}
	if j == len(chatKinds) || slot >= t.users {
		return 0, 0, false
	}
	base = int(((int64(u)-int64(slot)*t.steps[j])%int64(t.users) + int64(t.users)) % int64(t.users))
	m := t.chatMembers(j, base)
	if len(m) < 2 {
		return 0, 0, false
	}
	// the slot is real only if u's first occurrence in the chat is at slot.
	for k := 0; k < chatKinds[j].size && k < t.users; k++ {
		if int((int64(base)+int64(k)*t.steps[j])%int64(t.users)) == u {
			return j, base, k == slot
		}
	}
	return 0, 0, false
}

func chatSlots() int {
	n := 0
	for _, k := range chatKinds {
		n += k.size
	}
	return n
}

func (t *Tenant) appendChatID(b []byte, j, base int) []byte {
	b = append(b, "19:"...)
	if j == 0 {
		m := t.chatMembers(j, base)
		b = t.appendObjID(b, kUser, m[0])
		b = append(b, '_')
		b = t.appendObjID(b, kUser, m[1])
		return append(b, "@unq.gbl.spaces"...)
	}
	if chatKinds[j].typ == "meeting" {
		b = append(b, "meeting_"...)
		b = appendB64(b, t.h(kChat, int64(j), int64(base), 0), t.h(kChat, int64(j), int64(base), 1))
		return append(b, "@thread.v2"...)
	}
	b = appendHex64(b, t.h(kChat, int64(j), int64(base), 0))
	b = appendHex64(b, t.h(kChat, int64(j), int64(base), 1))
	return append(b, "@thread.v2"...)
}
