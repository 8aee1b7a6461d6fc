package parquetsink

import (
	"time"
	_ "time/tzdata" // zone names resolve on images without /usr/share/zoneinfo
)

// parseTimestamp parses an ISO 8601 date-time as Graph writes it
// (2021-12-02T17:05:15Z, with 0 to 9 fractional digits, a Z or ±hh:mm
// offset) into microseconds since the epoch, UTC. Digits past the
// microsecond are truncated. A date-time without an offset is taken as UTC
// (Graph's DateTimeOffset values always carry one).
func parseTimestamp(b []byte) (int64, bool) {
	us, rest, ok := parseCivil(b)
	if !ok {
		return 0, false
	}
	switch {
	case len(rest) == 0:
		return us, true
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
		return us, true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		h, ok1 := digits(rest[1:3])
		m, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || h > 23 || m > 59 {
			return 0, false
		}
		off := int64(h*3600+m*60) * 1e6
		if rest[0] == '+' {
			return us - off, true
		}
		return us + off, true
	}
	return 0, false
}

// parseLocal parses a date-time without an offset (calendar dateTime
// fields) as wall-clock microseconds.
func parseLocal(b []byte) (int64, bool) {
	us, rest, ok := parseCivil(b)
	return us, ok && len(rest) == 0
}

// parseCivil parses YYYY-MM-DDTHH:MM:SS[.f…] and returns the wall clock as
// microseconds since the epoch plus what follows.
func parseCivil(b []byte) (int64, []byte, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, nil, false
	}
	y, ok1 := digits(b[0:4])
	mo, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	h, ok4 := digits(b[11:13])
	mi, ok5 := digits(b[14:16])
	s, ok6 := digits(b[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 60 {
		return 0, nil, false
	}
	rest := b[19:]
	var frac int64
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		scale := int64(100000)
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if scale > 0 {
				frac += int64(rest[i]-'0') * scale
				scale /= 10
			}
			i++
		}
		if i == 1 || i > 10 {
			return 0, nil, false
		}
		rest = rest[i:]
	}
	days := daysFromCivil(y, mo, d)
	secs := days*86400 + int64(h*3600+mi*60+s)
	return secs*1e6 + frac, rest, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is Howard Hinnant's days_from_civil: days since 1970-01-01
// of a proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// zoned resolves a calendar {dateTime, timeZone} to UTC microseconds. A
// dateTime that carries its own offset wins; otherwise the zone must be
// UTC, an IANA name or a Windows zone name.
func (d *decoder) zoned(dt, tz []byte, haveTZ bool) (int64, bool) {
	local, rest, ok := parseCivil(dt)
	if !ok {
		return 0, false
	}
	if len(rest) > 0 {
		return parseTimestamp(dt)
	}
	if !haveTZ {
		return 0, false
	}
	name := string(tz)
	if name == "UTC" || name == "Etc/UTC" || name == "tzone://Microsoft/Utc" || name == "Coordinated Universal Time" {
		return local, true
	}
	loc, seen := d.zones[name]
	if !seen {
		if iana, ok := windowsZones[name]; ok {
			name = iana
		}
		l, err := time.LoadLocation(name)
		if err != nil || name == "" || name == "Local" {
			l = nil
		}
		d.zones[string(tz)] = l
		loc = l
	}
	if loc == nil {
		return 0, false
	}
	sec := local / 1e6
	us := local % 1e6
	if us < 0 {
		us += 1e6
		sec--
	}
	wall := time.Unix(sec, 0).UTC()
	t := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), int(us)*1000, loc)
	return t.UnixMicro(), true
}

// windowsZones maps the Windows time zone names Exchange uses most to IANA
// names (from CLDR's windowsZones, territory 001). A name missing here and
// unknown to the IANA database leaves utc null; dateTime and timeZone are
// kept as sent.
var windowsZones = map[string]string{
	"Dateline Standard Time":          "Etc/GMT+12",
	"UTC-11":                          "Etc/GMT+11",
	"Hawaiian Standard Time":          "Pacific/Honolulu",
	"Alaskan Standard Time":           "America/Anchorage",
	"Pacific Standard Time (Mexico)":  "America/Tijuana",
	"Pacific Standard Time":           "America/Los_Angeles",
	"US Mountain Standard Time":       "America/Phoenix",
	"Mountain Standard Time (Mexico)": "America/Mazatlan",
	"Mountain Standard Time":          "America/Denver",
	"Central America Standard Time":   "America/Guatemala",
	"Central Standard Time":           "America/Chicago",
	"Central Standard Time (Mexico)":  "America/Mexico_City",
	"Canada Central Standard Time":    "America/Regina",
	"SA Pacific Standard Time":        "America/Bogota",
	"Eastern Standard Time":           "America/New_York",
	"Eastern Standard Time (Mexico)":  "America/Cancun",
	"US Eastern Standard Time":        "America/Indianapolis",
	"Venezuela Standard Time":         "America/Caracas",
	"Atlantic Standard Time":          "America/Halifax",
	"SA Western Standard Time":        "America/La_Paz",
	"Pacific SA Standard Time":        "America/Santiago",
	"Newfoundland Standard Time":      "America/St_Johns",
	"E. South America Standard Time":  "America/Sao_Paulo",
	"Argentina Standard Time":         "America/Buenos_Aires",
	"SA Eastern Standard Time":        "America/Cayenne",
	"Greenland Standard Time":         "America/Godthab",
	"Montevideo Standard Time":        "America/Montevideo",
	"UTC-02":                          "Etc/GMT+2",
	"Azores Standard Time":            "Atlantic/Azores",
	"Cape Verde Standard Time":        "Atlantic/Cape_Verde",
	"UTC":                             "Etc/UTC",
	"GMT Standard Time":               "Europe/London",
	"Greenwich Standard Time":         "Atlantic/Reykjavik",
	"Morocco Standard Time":           "Africa/Casablanca",
	"W. Europe Standard Time":         "Europe/Berlin",
	"Central Europe Standard Time":    "Europe/Budapest",
	"Romance Standard Time":           "Europe/Paris",
	"Central European Standard Time":  "Europe/Warsaw",
	"W. Central Africa Standard Time": "Africa/Lagos",
	"GTB Standard Time":               "Europe/Bucharest",
	"Middle East Standard Time":       "Asia/Beirut",
	"Egypt Standard Time":             "Africa/Cairo",
	"E. Europe Standard Time":         "Europe/Chisinau",
	"South Africa Standard Time":      "Africa/Johannesburg",
	"FLE Standard Time":               "Europe/Kiev",
	"Israel Standard Time":            "Asia/Jerusalem",
	"Turkey Standard Time":            "Europe/Istanbul",
	"Jordan Standard Time":            "Asia/Amman",
	"Arabic Standard Time":            "Asia/Baghdad",
	"Arab Standard Time":              "Asia/Riyadh",
	"Russian Standard Time":           "Europe/Moscow",
	"E. Africa Standard Time":         "Africa/Nairobi",
	"Iran Standard Time":              "Asia/Tehran",
	"Arabian Standard Time":           "Asia/Dubai",
	"Azerbaijan Standard Time":        "Asia/Baku",
	"Georgian Standard Time":          "Asia/Tbilisi",
	"Afghanistan Standard Time":       "Asia/Kabul",
	"West Asia Standard Time":         "Asia/Tashkent",
	"Pakistan Standard Time":          "Asia/Karachi",
	"India Standard Time":             "Asia/Calcutta",
	"Sri Lanka Standard Time":         "Asia/Colombo",
	"Nepal Standard Time":             "Asia/Katmandu",
	"Central Asia Standard Time":      "Asia/Almaty",
	"Bangladesh Standard Time":        "Asia/Dhaka",
	"Myanmar Standard Time":           "Asia/Rangoon",
	"SE Asia Standard Time":           "Asia/Bangkok",
	"China Standard Time":             "Asia/Shanghai",
	"Singapore Standard Time":         "Asia/Singapore",
	"W. Australia Standard Time":      "Australia/Perth",
	"Taipei Standard Time":            "Asia/Taipei",
	"Tokyo Standard Time":             "Asia/Tokyo",
	"Korea Standard Time":             "Asia/Seoul",
	"Cen. Australia Standard Time":    "Australia/Adelaide",
	"AUS Central Standard Time":       "Australia/Darwin",
	"E. Australia Standard Time":      "Australia/Brisbane",
	"AUS Eastern Standard Time":       "Australia/Sydney",
	"West Pacific Standard Time":      "Pacific/Port_Moresby",
	"Tasmania Standard Time":          "Australia/Hobart",
	"New Zealand Standard Time":       "Pacific/Auckland",
	"Fiji Standard Time":              "Pacific/Fiji",
	"Tonga Standard Time":             "Pacific/Tongatapu",
}
