package orw

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/orwcfm/orwcfm/pkg/orw/ode"
	"github.com/orwcfm/orwcfm/pkg/orw/optim"
)

// Method names a fine-tuning method. Every method is the same trainer with a
// different source of x1, selection and weighting (see MethodSpec).
type Method string

// The methods.
const (
	// MethodORW is online reward-weighted CFM (ORW-CFM); with Alpha > 0 it is ORW-CFM-W2.
	MethodORW Method = "orw"
	// MethodRWCFM is offline reward-weighted CFM: exp(τr) weights on a fixed pool of reference samples.
	MethodRWCFM Method = "rwcfm"
	// MethodRAFT samples candidates online, keeps the best KeepFraction and trains plain CFM on them.
	MethodRAFT Method = "raft"
	// MethodReFT keeps the best KeepFraction of a fixed pool of reference samples and trains plain CFM on them
	// (our reading of the paper's ReFT baseline, docs/method.md, "5 Baselines as variants of one trainer").
	MethodReFT Method = "reft"
)

// Methods lists the valid methods.
var Methods = []Method{MethodORW, MethodRWCFM, MethodRAFT, MethodReFT}

// Validate reports whether m is one of Methods.
func (m Method) Validate() error {
	if slices.Contains(Methods, m) {
		return nil
	}
	names := make([]string, len(Methods))
	for i, x := range Methods {
		names[i] = string(x)
	}
	return fmt.Errorf("unknown method %q (valid: %s)", string(m), strings.Join(names, ", "))
}

// MarshalText writes the method's name (JSON, flags). It does not validate:
// Validate does.
func (m Method) MarshalText() ([]byte, error) { return []byte(m), nil }

// UnmarshalText accepts the name of a valid method (JSON, flags); the error of
// an unknown name lists the valid ones.
func (m *Method) UnmarshalText(b []byte) error {
	if err := Method(b).Validate(); err != nil {
		return err
	}
	*m = Method(b)
	return nil
}

// CouplingName names a Coupling in a Config: "independent" (alias "icfm") or
// "ot" (aliases "otcfm", "exact-ot").
type CouplingName string

// The couplings.
const (
	CouplingIndependent CouplingName = "independent"
	CouplingOT          CouplingName = "ot"
)

// Coupling returns the coupling named n (Independent for an unknown name:
// Validate first).
func (n CouplingName) Coupling() Coupling {
	if c, err := n.parse(); err == nil {
		return c
	}
	return Independent{}
}

// Validate reports whether n names a coupling.
func (n CouplingName) Validate() error { _, err := n.parse(); return err }

func (n CouplingName) parse() (Coupling, error) {
	switch n {
	case "", CouplingIndependent, "icfm":
		return Independent{}, nil
	case CouplingOT, "otcfm", "exact-ot":
		return ExactOT{}, nil
	}
	return nil, fmt.Errorf("unknown coupling %q; valid: %s, %s", string(n), CouplingIndependent, CouplingOT)
}

// MarshalText writes the name as it was given (an alias stays an alias, so a
// run's config.json reads back byte for byte). It does not validate: Validate does.
func (n CouplingName) MarshalText() ([]byte, error) { return []byte(n), nil }

// UnmarshalText accepts a coupling name or alias (JSON, flags) and keeps it as
// given; the error of an unknown name lists the valid ones.
func (n *CouplingName) UnmarshalText(b []byte) error {
	if err := CouplingName(b).Validate(); err != nil {
		return err
	}
	*n = CouplingName(b)
	return nil
}

// SamplerConfig chooses the ODE solver used to draw samples.
type SamplerConfig struct {
	// Solver is the fixed-step scheme: ode.Euler, ode.Midpoint or ode.RK4.
	Solver ode.Solver `json:"solver"`
	// Steps is the number of fixed integration steps from t=0 to t=1.
	Steps int `json:"steps"`
}

// Validate checks the solver and the step count.
func (c SamplerConfig) Validate() error {
	if !slices.Contains(ode.Solvers(), c.Solver) {
		names := make([]string, 0, len(ode.Solvers()))
		for _, s := range ode.Solvers() {
			names = append(names, s.String())
		}
		return fmt.Errorf("Sampler.Solver: unknown solver %v (valid: %s)", c.Solver, strings.Join(names, ", "))
	}
	if c.Steps <= 0 || c.Steps > 10000 {
		return fmt.Errorf("Sampler.Steps must be in 1..10000, got %d", c.Steps)
	}
	return nil
}

// Config holds every hyperparameter of a fine-tuning run, with its defaults in
// DefaultConfig. It is stored in the run directory; a run is resumed only with
// the same Config.
type Config struct {
	// Method is one of Methods.
	Method Method `json:"method"`
	// Tau is the inverse temperature of the weights exp(τ·r).
	Tau float64 `json:"tau"`
	// Alpha weighs the W2 regulariser α·‖v_ft − v_ref‖² (0: no regularisation).
	Alpha float64 `json:"alpha"`
	// NormalizeWeights rescales the weights to mean 1 per batch (our deviation; off in the paper).
	NormalizeWeights bool `json:"normalize_weights"`
	// Batch is the number of samples per gradient step.
	Batch int `json:"batch"`
	// RefreshEvery is K: the policy snapshot that draws online samples is refreshed
	// from the trainee every K gradient steps (1: sample from the current model).
	RefreshEvery int `json:"refresh_every"`
	// StepsPerBatch is the number of gradient steps taken on each sampled batch
	// (1: a fresh batch for every step, as in the paper).
	StepsPerBatch int `json:"steps_per_batch"`
	// KeepFraction is the fraction kept by RAFT (of online candidates) and ReFT (of the pool).
	KeepFraction float64 `json:"keep_fraction"`
	// PoolSize is the number of reference samples of the offline methods (RW-CFM, ReFT).
	PoolSize int `json:"pool_size"`
	// Coupling pairs noise and samples: "independent" or "ot".
	Coupling CouplingName `json:"coupling"`
	// Sampler integrates the policy to draw x1 (and the evaluation samples).
	Sampler SamplerConfig `json:"sampler"`
	// Optim is the optimiser (Adam, warm-up, clipping).
	Optim optim.Config `json:"optim"`
	// Seed makes the run repeatable.
	Seed uint64 `json:"seed"`
	// EvalEvery is E: evaluation metrics are computed every E steps (and at 0 and the end).
	EvalEvery int `json:"eval_every"`
	// EvalSamples is the size of the fixed evaluation noise batch.
	EvalSamples int `json:"eval_samples"`
	// W2Times is the number of time points of the W2 velocity estimate.
	W2Times int `json:"w2_times"`
	// CheckpointEvery saves the run every so many steps (and always at the end of Step).
	CheckpointEvery int `json:"checkpoint_every"`
}

// DefaultConfig returns the fine-tuning defaults. It is the one source of them:
// the tasks of pkg/tasks start from it and change a few fields, the CLI's flags
// default to it (through the task's values), and docs/configuration.md is
// generated from it. The defaults, and why:
//
//   - Method: MethodORW, the paper's method (ORW-CFM-W2 when Alpha > 0).
//   - Tau: 0.5, the paper's default inverse temperature: a mild tilt per refresh.
//   - Alpha: 1, the paper's default W2 weight: the samples stay near the base model.
//   - NormalizeWeights: false, raw exp(τ·r) weights as in the paper (normalising is our deviation, for rewards that need a large τ).
//   - Batch: 64, a gradient step that a CPU takes quickly, with enough samples for the weights to select among.
//   - RefreshEvery: 1, every step samples the current model (fully online); the tasks use K = 100 to 400, so that the trainee fits each phase between refreshes (docs/method.md §4).
//   - StepsPerBatch: 1, a fresh batch for every step, as in the paper.
//   - KeepFraction: 0.25, RAFT draws 4 candidates per kept sample: a clear selection at 4x the sampling cost.
//   - PoolSize: 4096, a pool of 64 batches of 64 for RW-CFM and ReFT, drawn once: ReFT keeps 1,024 of them.
//   - Coupling: CouplingIndependent, I-CFM pairing as drawn: no assignment cost, and right for class-conditional bases.
//   - Sampler: Euler with 20 steps, the benchmark workload's sampler (docs/benchmarks.md): one velocity evaluation per step.
//   - Optim: optim.DefaultConfig(), Adam at 2e-4 clipped at norm 1, the paper's reference script without its 5,000-step warm-up (longer than the runs here).
//   - Seed: 1, so that a run is repeatable without choosing a seed.
//   - EvalEvery: 100, a curve of 20 evaluations over a 2,000-step run.
//   - EvalSamples: 256, class fractions to about 2 points, drawn in a few seconds.
//   - W2Times: 8, time points of the midpoint rule of the W2 velocity estimate: a small cost next to sampling.
//   - CheckpointEvery: 100, a crash loses at most 100 steps.
func DefaultConfig() Config {
	return Config{
		Method:          MethodORW,
		Tau:             0.5,
		Alpha:           1,
		Batch:           64,
		RefreshEvery:    1,
		StepsPerBatch:   1,
		KeepFraction:    0.25,
		PoolSize:        4096,
		Coupling:        CouplingIndependent,
		Sampler:         SamplerConfig{Solver: ode.Euler, Steps: 20},
		Optim:           optim.DefaultConfig(),
		Seed:            1,
		EvalEvery:       100,
		EvalSamples:     256,
		W2Times:         8,
		CheckpointEvery: 100,
	}
}

// Validate reports every bad value, with the valid range.
func (c Config) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if err := c.Method.Validate(); err != nil {
		bad("%v", err)
	}
	if !isFinite(c.Tau) || c.Tau < 0 || c.Tau > 1e4 {
		bad("Tau must be a finite number in [0, 1e4], got %g", c.Tau)
	}
	if !isFinite(c.Alpha) || c.Alpha < 0 || c.Alpha > 1e6 {
		bad("Alpha must be a finite number in [0, 1e6], got %g", c.Alpha)
	}
	if c.Batch < 1 || c.Batch > 1<<16 {
		bad("Batch must be in 1..65536, got %d", c.Batch)
	}
	if c.RefreshEvery < 1 {
		bad("RefreshEvery must be >= 1, got %d", c.RefreshEvery)
	}
	if c.StepsPerBatch < 1 {
		bad("StepsPerBatch must be >= 1, got %d", c.StepsPerBatch)
	}
	if !(c.KeepFraction > 0 && c.KeepFraction <= 1) {
		bad("KeepFraction must be in (0, 1], got %g", c.KeepFraction)
	}
	if (c.Method == MethodRWCFM || c.Method == MethodReFT) && (c.PoolSize < c.Batch || c.PoolSize > 1<<22) {
		bad("PoolSize must be in batch..4194304 for %s, got %d", c.Method, c.PoolSize)
	}
	if c.Method == MethodReFT && int(math.Ceil(float64(c.PoolSize)*c.KeepFraction)) < 1 {
		bad("reft keeps no samples: raise PoolSize or KeepFraction")
	}
	if err := c.Coupling.Validate(); err != nil {
		bad("%v", err)
	}
	if err := c.Sampler.Validate(); err != nil {
		bad("%v", err)
	}
	if err := c.Optim.Validate(); err != nil {
		bad("%v", err)
	}
	if c.EvalEvery < 1 {
		bad("EvalEvery must be >= 1, got %d", c.EvalEvery)
	}
	if c.EvalSamples < 2 || c.EvalSamples > 1<<14 {
		bad("EvalSamples must be in 2..16384, got %d", c.EvalSamples)
	}
	if c.W2Times < 1 || c.W2Times > 1000 {
		bad("W2Times must be in 1..1000, got %d", c.W2Times)
	}
	if c.CheckpointEvery < 1 {
		bad("CheckpointEvery must be >= 1, got %d", c.CheckpointEvery)
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid fine-tuning config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// MethodSpec is a method decomposed into its three choices.
type MethodSpec struct {
	// Online draws x1 from the policy snapshot; otherwise from the fixed pool.
	Online bool
	// Keep is the fraction of drawn candidates (online) or of the pool (offline) kept by reward.
	Keep float64
	// Weighting turns rewards into loss weights.
	Weighting Weighting
}

// Spec decomposes c.Method:
//
//	orw    online,  keep all,            exp(τr) weights
//	rwcfm  offline, keep all,            exp(τr) weights
//	raft   online,  keep best fraction,  uniform weights
//	reft   offline, keep best fraction,  uniform weights
//
// The W2 term α·‖v − v_ref‖² is added to each of them alike.
func (c Config) Spec() MethodSpec {
	exp := ExpWeighting{Tau: c.Tau, Normalize: c.NormalizeWeights}
	switch c.Method {
	case MethodRWCFM:
		return MethodSpec{Online: false, Keep: 1, Weighting: exp}
	case MethodRAFT:
		return MethodSpec{Online: true, Keep: c.KeepFraction, Weighting: UniformWeighting{}}
	case MethodReFT:
		return MethodSpec{Online: false, Keep: c.KeepFraction, Weighting: UniformWeighting{}}
	}
	return MethodSpec{Online: true, Keep: 1, Weighting: exp}
}

// Diff lists the fields in which two configs differ ("tau: 0.5 → 1").
func (c Config) Diff(o Config) []string {
	a, b := flatten(c), flatten(o)
	var d []string
	for _, k := range sortedKeys(a) {
		if a[k] != b[k] {
			d = append(d, fmt.Sprintf("%s: %s → %s", k, a[k], b[k]))
		}
	}
	return d
}

// flatten turns a config into dotted keys with printed values, for Diff.
func flatten(c Config) map[string]string {
	b, _ := json.Marshal(c)
	var m map[string]any
	json.Unmarshal(b, &m)
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if mm, ok := v.(map[string]any); ok {
			for k, x := range mm {
				walk(strings.TrimPrefix(prefix+"."+k, "."), x)
			}
			return
		}
		out[prefix] = fmt.Sprint(v)
	}
	walk("", m)
	return out
}

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}
