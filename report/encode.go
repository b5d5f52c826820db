package report

import (
	"strconv"
	"unicode/utf8"
)

// appendAccount appends a as json.Marshal writes it. The accounts are
// nearly all of a report's JSON (300,000 chart points at 10,000
// accounts), and encoding/json's reflection was most of the time spent on
// them. Fields are written in the struct's order under their json names;
// TestMarshalMatchesEncodingJSON holds this to json.Marshal's bytes on
// random reports, so a field added to a type and not here fails it.
func appendAccount(b []byte, a *Account) []byte {
	b = append(b, `{"business_id":`...)
	b = appendString(b, a.BusinessID)
	b = append(b, `,"account_id":`...)
	b = appendString(b, a.AccountID)
	b = append(b, `,"currency":`...)
	b = appendString(b, a.Currency)
	b = append(b, `,"opening_balance":`...)
	b = appendString(b, a.OpeningBalance)
	b = append(b, `,"ledger_balance":`...)
	b = appendString(b, a.LedgerBalance)
	b = append(b, `,"reported_current":`...)
	b = appendStringPtr(b, a.ReportedCurrent)
	b = append(b, `,"difference":`...)
	b = appendStringPtr(b, a.Difference)
	b = append(b, `,"pending_total":`...)
	b = appendString(b, a.PendingTotal)
	b = append(b, `,"status":`...)
	b = appendString(b, string(a.Status))
	b = append(b, `,"name":`...)
	b = appendString(b, a.Name)
	b = append(b, `,"mask":`...)
	b = appendString(b, a.Mask)
	b = append(b, `,"kind":`...)
	b = appendString(b, a.Kind)
	b = append(b, `,"token_status":`...)
	b = appendString(b, a.TokenStatus)
	b = append(b, `,"token_reason":`...)
	b = appendStringPtr(b, a.TokenReason)
	b = append(b, `,"reported_at":`...)
	b = appendStringPtr(b, a.ReportedAt)
	b = append(b, `,"difference_since":`...)
	b = appendStringPtr(b, a.DifferenceSince)
	b = append(b, `,"candidates_since":`...)
	b = appendStringPtr(b, a.CandidatesSince)
	b = append(b, `,"pending_count":`...)
	b = strconv.AppendInt(b, int64(a.PendingCount), 10)
	b = append(b, `,"pending":`...)
	b = appendList(b, a.Pending, appendPending)
	b = append(b, `,"candidates":`...)
	b = appendList(b, a.Candidates, appendCandidate)
	b = append(b, `,"chart":`...)
	b = appendList(b, a.Chart, appendPoint)
	return append(b, '}')
}

func appendPending(b []byte, p *Pending) []byte {
	b = append(b, `{"transaction_id":`...)
	b = appendString(b, p.TransactionID)
	b = append(b, `,"date":`...)
	b = appendString(b, p.Date)
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"merchant_name":`...)
	b = appendString(b, p.MerchantName)
	b = append(b, `,"amount":`...)
	b = appendString(b, p.Amount)
	b = append(b, `,"age_business_days":`...)
	b = strconv.AppendInt(b, int64(p.AgeBusinessDays), 10)
	b = append(b, `,"aged":`...)
	b = strconv.AppendBool(b, p.Aged)
	b = append(b, `,"anomaly":`...)
	b = strconv.AppendBool(b, p.Anomaly)
	return append(b, '}')
}

func appendCandidate(b []byte, c *Candidate) []byte {
	b = append(b, `{"source":`...)
	b = appendString(b, c.Source)
	b = append(b, `,"entry_id":`...)
	b = appendString(b, c.EntryID)
	b = append(b, `,"entry_kind":`...)
	b = appendString(b, c.EntryKind)
	b = append(b, `,"transaction_id":`...)
	b = appendString(b, c.TransactionID)
	b = append(b, `,"date":`...)
	b = appendString(b, c.Date)
	b = append(b, `,"name":`...)
	b = appendString(b, c.Name)
	b = append(b, `,"merchant_name":`...)
	b = appendString(b, c.MerchantName)
	b = append(b, `,"amount":`...)
	b = appendString(b, c.Amount)
	b = append(b, `,"pending":`...)
	b = strconv.AppendBool(b, c.Pending)
	b = append(b, `,"removed":`...)
	b = strconv.AppendBool(b, c.Removed)
	b = append(b, `,"recorded_at":`...)
	b = appendString(b, c.RecordedAt)
	return append(b, '}')
}

func appendPoint(b []byte, p *Point) []byte {
	b = append(b, `{"date":`...)
	b = appendString(b, p.Date)
	b = append(b, `,"generated_at":`...)
	b = appendString(b, p.GeneratedAt)
	b = append(b, `,"reported":`...)
	b = appendStringPtr(b, p.Reported)
	b = append(b, `,"ledger":`...)
	b = appendString(b, p.Ledger)
	b = append(b, `,"status":`...)
	b = appendString(b, p.Status)
	return append(b, '}')
}

// appendList writes a slice as json.Marshal does: null when nil.
func appendList[T any](b []byte, list []T, elem func([]byte, *T) []byte) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, &list[i])
	}
	return append(b, ']')
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendString is encoding/json's string encoding with HTML escaping, as
// json.Marshal writes every string: ", \ and control characters escaped
// (\b \f \n \r \t by name), < > & as \u003c \u003e \u0026, bytes that are
// not UTF-8 as \ufffd, and U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks the ASCII bytes a JSON string (HTML-escaped) holds as
// they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
