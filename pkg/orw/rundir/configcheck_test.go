package rundir

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
)

// TestSameConfigOldSpelling checks that a state file's config check written by
// an older build, which kept the solver name as given ("RK4"), still matches
// the config read back from config.json (where it becomes ode.RK4, "rk4"), and
// that another value does not.
func TestSameConfigOldSpelling(t *testing.T) {
	cfg := orw.DefaultConfig()
	cfg.Sampler.Solver = ode.RK4
	cfg.Coupling = "icfm" // an alias is kept as given: it reads back as itself
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	saved := string(b)
	if !sameConfig(saved, cfg) {
		t.Fatal("the config's own JSON does not match it")
	}
	old := strings.Replace(saved, `"solver":"rk4"`, `"solver":"RK4"`, 1)
	if old == saved {
		t.Fatalf("no solver in %s", saved)
	}
	if !sameConfig(old, cfg) {
		t.Errorf("the old spelling %s does not match", old)
	}
	other := cfg
	other.Tau = 3
	for _, s := range []string{"", "{", strings.Replace(saved, `"icfm"`, `"independent"`, 1)} {
		if sameConfig(s, cfg) {
			t.Errorf("%q matches", s)
		}
	}
	if sameConfig(saved, other) {
		t.Error("configs with another tau match")
	}
}
