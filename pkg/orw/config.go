package orw

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/orwcfm/orwcfm/internal/suggest"
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
	return suggest.Unknown("method", string(m), names)
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
	return nil, suggest.Unknown("coupling", string(n), []string{string(CouplingIndependent), string(CouplingOT)}).
		WithNote("or their aliases icfm, otcfm, exact-ot")
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
		return &FieldError{Field: "Sampler.Solver", Value: c.Solver, Rule: "one of " + strings.Join(names, ", "),
			msg: "Sampler.Solver: " + suggest.Unknown("ODE solver", c.Solver.String(), names).Error()}
	}
	if c.Steps <= 0 || c.Steps > 10000 {
		return &FieldError{Field: "Sampler.Steps", Value: c.Steps, Rule: "in 1..10000"}
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
	// W2Budget, when above 0, is a budget ε on the W2 estimate: α becomes
	// part of the trainer's state, starts at Alpha (at least 1e-3) and is
	// adapted every step (dual ascent, a PI controller on log α) so that
	// the smoothed per-step W2 settles at ε (docs/method.md, "8 A W2
	// budget"). 0: off, α stays Alpha.
	W2Budget float64 `json:"w2_budget,omitempty"`
	// AlphaMode is how α enters the W2 term: "fixed" ("" reads as fixed), one
	// α for every sample; "advantage", ADRPO's per-sample coefficients
	// α_i = max(0, α − A_i) with A_i = r_i − mean_j r_j (docs/method.md,
	// "9 Per-sample regularisation (ADRPO)").
	AlphaMode string `json:"alpha_mode,omitempty"`
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
//   - W2Budget: 0, off: α is fixed, as in the paper.
//   - AlphaMode: "" (fixed), one α for every sample, as in the paper; empty so that a config.json written before the field existed reads the same and writes the same bytes.
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

// FieldError is a bad value of one field of a Config, as Config.Validate
// reports it (find it with errors.As): the field, its value and the rule it
// breaks. Its text is "Field must be Rule, got Value", or the message of the
// field's own check (an unknown method, coupling or solver, the optimiser's).
type FieldError struct {
	// Field is the Go field path from Config: "Tau", "Sampler.Steps", "Optim".
	Field string
	// Value is the field's bad value.
	Value any
	// Rule is what a valid value is: "in 1..65536", "one of orw, rwcfm, raft, reft".
	Rule string
	// msg, when set, is the whole message (a check of the field's own type).
	msg string
	// valid, when set, are the valid values of a field that takes one of a
	// list: the message is then suggest's, `unknown Field "value"; valid: …`.
	valid []string
}

// Error is the problem in words: "Tau must be a finite number in [0, 1e4],
// got -1"; for a field that takes one of a list of names, `unknown AlphaMode
// "adaptive"; valid: fixed, advantage`.
func (e *FieldError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	if e.valid != nil {
		return suggest.Unknown(e.Field, fmt.Sprint(e.Value), e.valid).Error()
	}
	return fmt.Sprintf("%s must be %s, got %v", e.Field, e.Rule, e.Value)
}

// Remedy is a run-time error with advice that names Config fields (find it
// with errors.As), so that a front end can show the fields its own way: the
// CLI names them by their flags. Its text is Err's, then Advice with the
// fields' Go names in place of its verbs.
type Remedy struct {
	// Err is what went wrong.
	Err error
	// Advice follows Err's text, with one %s for each of Fields:
	// "; lower %s or set %s".
	Advice string
	// Fields are the Go field paths from Config that Advice names: "Tau".
	Fields []string
}

// Error is the problem and the advice, with the fields' Go names.
func (r *Remedy) Error() string { return r.Text(r.Fields) }

// Text is the problem and the advice with names in place of the fields (one
// name per field, in order).
func (r *Remedy) Text(names []string) string {
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	return r.Err.Error() + fmt.Sprintf(r.Advice, args...)
}

// Unwrap returns Err.
func (r *Remedy) Unwrap() error { return r.Err }

// configErrors are the problems of one Config: its text is today's single
// line, and errors.As finds each FieldError in it.
type configErrors []error

// Error lists the problems on one line, after "invalid fine-tuning config: ".
func (e configErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return "invalid fine-tuning config: " + strings.Join(msgs, "; ")
}

// Unwrap returns the problems, for errors.As and errors.Is.
func (e configErrors) Unwrap() []error { return e }

// Validate reports every bad value, with the valid range: each one is a
// *FieldError (errors.As finds them).
func (c Config) Validate() error {
	var errs configErrors
	bad := func(field string, value any, rule string) {
		errs = append(errs, &FieldError{Field: field, Value: value, Rule: rule})
	}
	// own wraps the error of a field's own check, keeping its message.
	own := func(field string, value any, rule string, err error) {
		errs = append(errs, &FieldError{Field: field, Value: value, Rule: rule, msg: err.Error()})
	}
	if err := c.Method.Validate(); err != nil {
		names := make([]string, len(Methods))
		for i, m := range Methods {
			names[i] = string(m)
		}
		own("Method", string(c.Method), "one of "+strings.Join(names, ", "), err)
	}
	if !isFinite(c.Tau) || c.Tau < 0 || c.Tau > 1e4 {
		bad("Tau", c.Tau, "a finite number in [0, 1e4]")
	}
	if !isFinite(c.Alpha) || c.Alpha < 0 || c.Alpha > 1e6 {
		bad("Alpha", c.Alpha, "a finite number in [0, 1e6]")
	}
	if !isFinite(c.W2Budget) || c.W2Budget < 0 || c.W2Budget > 1e6 {
		bad("W2Budget", c.W2Budget, "a finite number in [0, 1e6] (0: off)")
	}
	switch c.AlphaMode {
	case "", alphaFixed, alphaAdvantage:
	default:
		errs = append(errs, &FieldError{Field: "AlphaMode", Value: c.AlphaMode, Rule: "one of fixed, advantage",
			valid: []string{alphaFixed, alphaAdvantage}})
	}
	if c.Batch < 1 || c.Batch > 1<<16 {
		bad("Batch", c.Batch, "in 1..65536")
	}
	if c.RefreshEvery < 1 {
		bad("RefreshEvery", c.RefreshEvery, ">= 1")
	}
	if c.StepsPerBatch < 1 {
		bad("StepsPerBatch", c.StepsPerBatch, ">= 1")
	}
	if !(c.KeepFraction > 0 && c.KeepFraction <= 1) {
		bad("KeepFraction", c.KeepFraction, "in (0, 1]")
	}
	if (c.Method == MethodRWCFM || c.Method == MethodReFT) && (c.PoolSize < c.Batch || c.PoolSize > 1<<22) {
		bad("PoolSize", c.PoolSize, fmt.Sprintf("in batch..4194304 for %s", c.Method))
	}
	if c.Method == MethodReFT && int(math.Ceil(float64(c.PoolSize)*c.KeepFraction)) < 1 {
		own("PoolSize", c.PoolSize, "large enough that reft keeps a sample", errors.New("reft keeps no samples: raise PoolSize or KeepFraction"))
	}
	if err := c.Coupling.Validate(); err != nil {
		own("Coupling", string(c.Coupling), "one of independent, ot", err)
	}
	if err := c.Sampler.Validate(); err != nil {
		errs = append(errs, err) // a *FieldError
	}
	if err := c.Optim.Validate(); err != nil {
		own("Optim", c.Optim, "a valid optimiser setting", err)
	}
	if c.EvalEvery < 1 {
		bad("EvalEvery", c.EvalEvery, ">= 1")
	}
	if c.EvalSamples < 2 || c.EvalSamples > 1<<14 {
		bad("EvalSamples", c.EvalSamples, "in 2..16384")
	}
	if c.W2Times < 1 || c.W2Times > 1000 {
		bad("W2Times", c.W2Times, "in 1..1000")
	}
	if c.CheckpointEvery < 1 {
		bad("CheckpointEvery", c.CheckpointEvery, ">= 1")
	}
	if len(errs) > 0 {
		return errs
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
	keys := map[string]string{}
	for k := range a {
		keys[k] = ""
	}
	for k := range b {
		keys[k] = "" // a field that one side omits (omitempty) and the other sets
	}
	var d []string
	show := func(m map[string]string, k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		return "unset"
	}
	for _, k := range sortedKeys(keys) {
		if x, y := show(a, k), show(b, k); x != y {
			d = append(d, fmt.Sprintf("%s: %s → %s", k, x, y))
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
