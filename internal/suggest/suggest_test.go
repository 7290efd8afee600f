package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"even", "even", 0},
		{"evn", "even", 1},
		{"jpg", "jpeg", 1},
		{"tua", "tau", 1}, // a swap of neighbours is one edit
		{"kitten", "sitting", 3},
		{"ünï", "uni", 2}, // by runes, not bytes
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := distance(tc.b, tc.a); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	rewards := []string{"class", "even", "jpeg", "jpeg-incompress", "prompt", "target"}
	methods := []string{"orw", "rwcfm", "raft", "reft"}
	for _, tc := range []struct {
		name  string
		valid []string
		want  string
	}{
		{"evn", rewards, "even"},
		{"JPG", rewards, "jpeg"},
		{"promt", rewards, "prompt"},
		{"jpeg-incompres", rewards, "jpeg-incompress"},
		{"jpeg-inc", rewards, "jpeg-incompress"}, // a beginning of one value
		{"orx", methods, "orw"},
		{"rft", methods, ""}, // raft and reft are as near: no guess
		{"xyz", rewards, ""},
		{"banana", rewards, ""},
		{"", rewards, ""},
		{"t-shirt", []string{"t-shirt/top", "trouser", "shirt"}, "t-shirt/top"},
		{"-1", []string{"0", "1", "2"}, ""}, // one edit, but the whole of "1"
		{"o", []string{"independent", "ot"}, "ot"},
	} {
		if got := Closest(tc.name, tc.valid); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestErrorForm(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{Unknown("reward", "evn", []string{"even", "jpeg"}),
			`unknown reward "evn"; did you mean "even"? valid: even, jpeg`},
		{Unknown("reward", "banana", []string{"even", "jpeg"}),
			`unknown reward "banana"; valid: even, jpeg`},
		{Unknown("mnist prompt", "an evn digit", []string{"an even digit", "an odd digit"}).WithNote("add more in prompts.json"),
			`unknown mnist prompt "an evn digit"; did you mean "an even digit"? valid: "an even digit", "an odd digit" (add more in prompts.json)`},
		{Unknown("model", "x", nil), `unknown model "x"; valid: none`},
		{Unknown("fashion prompt", "a hat", []string{"a shoe", "clothing"}),
			`unknown fashion prompt "a hat"; valid: "a shoe", "clothing"`}, // all quoted when one must be
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}
