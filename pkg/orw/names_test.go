package orw_test

import (
	"encoding"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
)

// TestNamedTypesRoundTrip checks that Method, CouplingName and ode.Solver read
// back what they write, through JSON (config.json) and through a flag
// (flag.TextVar), and that an unknown name is an error listing the valid ones.
func TestNamedTypesRoundTrip(t *testing.T) {
	type named interface {
		encoding.TextMarshaler
		encoding.TextUnmarshaler
	}
	for _, tc := range []struct {
		name   string
		valid  []string
		values func() []named // fresh values holding each valid name, in order
		zero   func() named
		bad    string
		want   string
	}{
		{"Method", []string{"orw", "rwcfm", "raft", "reft"},
			func() []named {
				var out []named
				for _, m := range orw.Methods {
					out = append(out, &m)
				}
				return out
			},
			func() named { return new(orw.Method) }, "ppo", `unknown method "ppo"; valid: orw, rwcfm, raft, reft`},
		{"CouplingName", []string{"independent", "ot", "icfm", "otcfm", "exact-ot"},
			func() []named {
				var out []named
				for _, c := range []orw.CouplingName{orw.CouplingIndependent, orw.CouplingOT, "icfm", "otcfm", "exact-ot"} {
					out = append(out, &c)
				}
				return out
			},
			func() named { return new(orw.CouplingName) }, "sinkhorn", `unknown coupling "sinkhorn"; valid: independent, ot (or their aliases icfm, otcfm, exact-ot)`},
		{"Solver", []string{"euler", "midpoint", "rk4"},
			func() []named {
				var out []named
				for _, s := range ode.Solvers() {
					out = append(out, &s)
				}
				return out
			},
			func() named { return new(ode.Solver) }, "heun", `unknown ODE solver "heun"; valid: euler, midpoint, rk4`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, v := range tc.values() {
				b, err := json.Marshal(v)
				if err != nil || string(b) != `"`+tc.valid[i]+`"` {
					t.Errorf("JSON of %s: %s, %v", tc.valid[i], b, err)
				}
				back := tc.zero()
				if err := json.Unmarshal(b, back); err != nil {
					t.Errorf("JSON %s: %v", b, err)
				}
				if text, _ := back.MarshalText(); string(text) != tc.valid[i] {
					t.Errorf("JSON %s read back as %s", b, text)
				}
				fs := flag.NewFlagSet("test", flag.ContinueOnError)
				p := tc.zero()
				fs.TextVar(p, "x", v, "")
				if fs.Lookup("x").DefValue != tc.valid[i] {
					t.Errorf("flag default %q, want %q", fs.Lookup("x").DefValue, tc.valid[i])
				}
				if err := fs.Parse([]string{"-x", tc.valid[i]}); err != nil {
					t.Fatal(err)
				}
				if text, _ := p.MarshalText(); string(text) != tc.valid[i] {
					t.Errorf("-x %s set %s", tc.valid[i], text)
				}
			}
			if err := json.Unmarshal([]byte(`"`+tc.bad+`"`), tc.zero()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("JSON %q: %v, want %q", tc.bad, err, tc.want)
			}
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.TextVar(tc.zero(), "x", tc.values()[0], "")
			if err := fs.Parse([]string{"-x", tc.bad}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("-x %s: %v, want %q", tc.bad, err, tc.want)
			}
		})
	}
	// A whole config reads back as itself, and its JSON keeps its strings.
	cfg := orw.DefaultConfig()
	cfg.Method, cfg.Coupling, cfg.Sampler.Solver = orw.MethodRAFT, "otcfm", ode.RK4
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"method":"raft"`, `"coupling":"otcfm"`, `"sampler":{"solver":"rk4","steps":20}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config JSON %s lacks %s", b, want)
		}
	}
	var back orw.Config
	if err := json.Unmarshal(b, &back); err != nil || back != cfg {
		t.Errorf("config read back as %+v (%v)", back, err)
	}
	// config.json of older builds spelled the solver as given.
	old := strings.Replace(string(b), `"rk4"`, `"RK4"`, 1)
	if err := json.Unmarshal([]byte(old), &back); err != nil || back.Sampler.Solver != ode.RK4 {
		t.Errorf("old spelling: %v, %v", back.Sampler.Solver, err)
	}
}

// TestUnknownNamesSuggest checks that a near miss of a method, coupling or
// solver name gets the name meant ("did you mean"), through the flag and JSON
// decoding of Method, CouplingName and ode.Solver, and that a far miss gets
// the list of valid names alone.
func TestUnknownNamesSuggest(t *testing.T) {
	for _, tc := range []struct {
		zero      func() encoding.TextUnmarshaler
		bad, want string
	}{
		{func() encoding.TextUnmarshaler { return new(orw.Method) }, "orx",
			`unknown method "orx"; did you mean "orw"? valid: orw, rwcfm, raft, reft`},
		{func() encoding.TextUnmarshaler { return new(orw.Method) }, "rwcmf",
			`unknown method "rwcmf"; did you mean "rwcfm"? valid: orw, rwcfm, raft, reft`},
		{func() encoding.TextUnmarshaler { return new(orw.Method) }, "ppo",
			`unknown method "ppo"; valid: orw, rwcfm, raft, reft`},
		{func() encoding.TextUnmarshaler { return new(ode.Solver) }, "midpiont",
			`unknown ODE solver "midpiont"; did you mean "midpoint"? valid: euler, midpoint, rk4`},
		{func() encoding.TextUnmarshaler { return new(ode.Solver) }, "rk5",
			`unknown ODE solver "rk5"; did you mean "rk4"? valid: euler, midpoint, rk4`},
		{func() encoding.TextUnmarshaler { return new(ode.Solver) }, "heun",
			`unknown ODE solver "heun"; valid: euler, midpoint, rk4`},
		{func() encoding.TextUnmarshaler { return new(orw.CouplingName) }, "indepedent",
			`unknown coupling "indepedent"; did you mean "independent"? valid: independent, ot`},
	} {
		if err := tc.zero().UnmarshalText([]byte(tc.bad)); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one beginning %q", tc.bad, err, tc.want)
		}
		if err := json.Unmarshal([]byte(`"`+tc.bad+`"`), tc.zero()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("JSON %q: error %v, want one with %q", tc.bad, err, tc.want)
		}
	}
	// Method.Validate, which Config.Validate calls, has the same error.
	cfg := orw.DefaultConfig()
	cfg.Method = "raf"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `unknown method "raf"; did you mean "raft"?`) {
		t.Errorf("Config.Validate of method raf: %v", err)
	}
}
