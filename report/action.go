package report

import (
	"fmt"

	"bankfeed/ledger"
)

// Headline statuses beyond ledger.Status: the books failed their own
// checks.
const HeadlineInvalid = "invalid"

// Headline is the night in one line: its worst status, said loudly when
// it is bad.
type Headline struct {
	Status string `json:"status"` // invalid, or a ledger.Status
	Text   string `json:"text"`
}

// Headline returns the worst status of the night, worst first: a ledger
// that fails its own checks (no figure in it can be trusted), a break
// (the books and the bank disagree, twice over), a flagged token (nothing
// of its account arrives until a person acts), a stale account (the bank
// has gone quiet for a week), an account without an opening (it waits on
// Plaid's history), timing (first seen, usually settled by the next pull),
// ok. Flagged tokens count whether or not their account is known: a token
// that never synced needs refresh as much as one that did.
func (r Report) Headline() Headline {
	s := r.Summary
	n := func(k int, one, many string) string {
		if k == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", k, many)
	}
	switch {
	case !r.Valid:
		return Headline{HeadlineInvalid, fmt.Sprintf("The ledger failed its own checks (%s): fix it before trusting any figure below",
			n(len(r.Problems), "problem", "problems"))}
	case s.Break > 0:
		return Headline{string(ledger.StatusBreak), n(s.Break, "account does not reconcile", "accounts do not reconcile") +
			": the same difference on successive balances"}
	case s.NeedsRefresh > 0:
		return Headline{string(ledger.StatusNeedsRefresh), n(s.NeedsRefresh, "token needs", "tokens need") +
			" refresh: nothing arrives from it until its owner logs in again or the platform puts a new one"}
	case s.Stale > 0:
		return Headline{string(ledger.StatusStale), n(s.Stale, "account has", "accounts have") + " had no fresh bank balance for 7 days"}
	case s.NoAnchor > 0:
		return Headline{string(ledger.StatusNoAnchor), n(s.NoAnchor, "account waits", "accounts wait") +
			" for its opening balance (Plaid is still sending the history)"}
	case s.Timing > 0:
		return Headline{string(ledger.StatusTiming), n(s.Timing, "account differs", "accounts differ") +
			" from the bank for the first time: recheck after the next pull"}
	}
	switch s.Accounts {
	case 0:
		return Headline{string(ledger.StatusOK), "No account to reconcile yet"}
	case 1:
		return Headline{string(ledger.StatusOK), "The one account reconciles to the minor unit"}
	}
	return Headline{string(ledger.StatusOK), fmt.Sprintf("All %d accounts reconcile to the minor unit", s.Accounts)}
}

// NeedsAction is what a person must look at tonight, by kind. Accounts
// are indices into Report.Accounts, so that each is shown with its name.
type NeedsAction struct {
	Problems    []string // the ledger's own checks that failed
	Breaks      []int    // accounts whose difference persists
	Tokens      []Token  // every flagged token, those that never synced included
	Stale       []int    // accounts without a fresh balance for 7 days
	AgedPending []AgedPending
	Suspects    []PrecisionSuspect
}

// AgedPending is a pending item held longer than ledger.AgedAfter
// business days: Report.Accounts[Account].Pending[Pending].
type AgedPending struct {
	Account int
	Pending int
}

// Empty reports whether nothing needs action.
func (n NeedsAction) Empty() bool {
	return len(n.Problems)+len(n.Breaks)+len(n.Tokens)+len(n.Stale)+len(n.AgedPending)+len(n.Suspects) == 0
}

// NeedsAction collects the night's findings a person must act on. Timing
// and no_anchor are not among them: both settle without anyone's help.
// Precision suspects are, because a break they cause is Plaid's rounding.
func (r Report) NeedsAction() NeedsAction {
	n := NeedsAction{Problems: r.Problems, Tokens: r.Tokens, Suspects: r.PrecisionSuspects}
	for i, a := range r.Accounts {
		switch a.Status {
		case ledger.StatusBreak:
			n.Breaks = append(n.Breaks, i)
		case ledger.StatusStale:
			n.Stale = append(n.Stale, i)
		}
		for j, p := range a.Pending {
			if p.Aged {
				n.AgedPending = append(n.AgedPending, AgedPending{Account: i, Pending: j})
			}
		}
	}
	return n
}

// Label is how an account is named to a person: its name and mask, or its
// id when Plaid gave it no name.
func Label(name, mask, id string) string {
	switch {
	case name == "" && id == "":
		return ""
	case name == "":
		name = id
	}
	if mask != "" {
		return name + " ••" + mask
	}
	return name
}
