// Package suggest writes the one form of every error that names an unknown
// value and lists the valid ones (tasks, rewards, prompts, classes, methods,
// solvers, couplings, commands...), with a "did you mean" for a near miss:
//
//	unknown reward "evn"; did you mean "even"? valid: even, jpeg, prompt
//	unknown fashion class "snekaer"; did you mean "sneaker"? valid: t-shirt/top, trouser, … (or an index, 0 to 9)
//
// A far miss gets the list alone:
//
//	unknown task "banana"; valid: cifar10-jpeg, fashion-jpeg, …
package suggest

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is an unknown value among valid ones. Its text is
//
//	unknown WHAT "NAME"; did you mean "SUGGESTION"? valid: V1, V2, … (NOTE)
//
// with the suggestion and the note left out when empty. When a value holds a
// space or a comma (a prompt) or is empty, every value of the list is quoted.
type Error struct {
	// What names the kind of value: "reward", "fashion prompt", "--task".
	What string
	// Name is the value given.
	Name string
	// Valid are the valid values, in the order to list them.
	Valid []string
	// Suggestion is the valid value meant, "" when none is near enough.
	Suggestion string
	// Note follows the list, in parentheses: "or a generator checkpoint file".
	Note string
}

// Unknown returns the error of name, none of valid, with the nearest valid
// value as its suggestion when it is near enough (Closest).
func Unknown(what, name string, valid []string) *Error {
	return &Error{What: what, Name: name, Valid: valid, Suggestion: Closest(name, valid)}
}

// WithNote returns e with its note set (it changes e).
func (e *Error) WithNote(note string) *Error {
	e.Note = note
	return e
}

// Error writes the one form.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("unknown ")
	b.WriteString(e.What)
	b.WriteString(" ")
	b.WriteString(strconv.Quote(e.Name))
	if e.Suggestion != "" {
		b.WriteString("; did you mean ")
		b.WriteString(strconv.Quote(e.Suggestion))
		b.WriteString("? valid: ")
	} else {
		b.WriteString("; valid: ")
	}
	b.WriteString(List(e.Valid))
	if e.Note != "" {
		b.WriteString(" (")
		b.WriteString(e.Note)
		b.WriteString(")")
	}
	return b.String()
}

// List joins values with ", " ("none" when there are none), every value
// quoted when one of them holds a space or a comma or is empty.
func List(values []string) string {
	if len(values) == 0 {
		return "none"
	}
	if !slices.ContainsFunc(values, func(v string) bool { return v == "" || strings.ContainsAny(v, " ,") }) {
		return strings.Join(values, ", ")
	}
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// Closest returns the valid value that name most likely misspells, or "" when
// none is near enough. Case is ignored. A value is near when its edit distance
// to name is at most a third of the shorter one's length (at least 1) and less
// than the value's whole length ("-1" is no near miss of "1"), or when name (of
// 3 characters or more) begins it; the nearest wins, and a tie between
// different values gives "" (a guess would mislead).
func Closest(name string, valid []string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return ""
	}
	best, bestD, tie := "", -1, false
	consider := func(v string, d int) {
		switch {
		case bestD < 0 || d < bestD:
			best, bestD, tie = v, d, false
		case d == bestD && !strings.EqualFold(v, best):
			tie = true
		}
	}
	ln := utf8.RuneCountInString(n)
	for _, v := range valid {
		lv := strings.ToLower(v)
		if d, l := distance(n, lv), utf8.RuneCountInString(lv); d <= max(1, min(l, ln)/3) && d < l {
			consider(v, d)
		}
	}
	if bestD < 0 && ln >= 3 {
		for _, v := range valid {
			if lv := strings.ToLower(v); strings.HasPrefix(lv, n) {
				consider(v, utf8.RuneCountInString(lv)-utf8.RuneCountInString(n))
			}
		}
	}
	if tie {
		return ""
	}
	return best
}

// distance is the edit distance between a and b, by runes: the fewest
// insertions, deletions, substitutions and swaps of two neighbours that turn a
// into b (Levenshtein's, with swaps: "tua" is one edit from "tau"; strictly the
// optimal string alignment distance). Written here rather than taken from a
// library: it is a dozen lines, and the names it compares are short.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
