package orw

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// A run directory holds everything of one fine-tuning run, so that it can be
// stepped from separate processes (notebook cells) and resumed after a crash:
//
//	config.json    the Config and the caller's metadata (task, base model), written once
//	state.ckpt     the latest checkpoint: trainee, optimiser, policy snapshot, RNG, step
//	history.jsonl  one JSON object per step ("train") and per evaluation ("eval"), append-only
//	pool.ckpt      the fixed sample pool of the offline methods
//	.lock          held while a process has the run open
//
// A checkpoint records how many bytes of history belong to it; on opening, any
// history written after the last checkpoint is cut, so the history always matches
// the state and a resumed run repeats exactly what an uninterrupted one would do.

const (
	configFile  = "config.json"
	stateFile   = "state.ckpt"
	historyFile = "history.jsonl"
	poolFile    = "pool.ckpt"
	// RunFormat is the version of the run directory layout.
	RunFormat = 1
	kindRun   = "run-state"
	kindPool  = "sample-pool"
)

// RunInfo is the content of config.json.
type RunInfo struct {
	Format int    `json:"format"`
	Config Config `json:"config"`
	// Meta is the caller's description (task name, base model...), used to rebuild the Env.
	Meta map[string]string `json:"meta,omitempty"`
}

// ReadRunInfo reads a run directory's config.json.
func ReadRunInfo(dir string) (*RunInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
				return nil, fmt.Errorf("no run at %s: the directory does not exist", dir)
			}
			return nil, fmt.Errorf("no run at %s: it has no %s (not a run directory)", dir, configFile)
		}
		return nil, err
	}
	var info RunInfo
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&info); err != nil {
		return nil, fmt.Errorf("run %s: %s is damaged: %v", dir, configFile, err)
	}
	if info.Format != RunFormat {
		return nil, fmt.Errorf("run %s: layout version %d, this build reads %d", dir, info.Format, RunFormat)
	}
	return &info, nil
}

// Run is a fine-tuning run backed by a directory.
//
// Determinism: with the same Config (seed included), base model, reward and
// backend, a run's history and weights are identical bit for bit, whether it
// runs in one go or is stopped (even killed) and resumed, and whatever
// GOMAXPROCS is (tested on the pure-Go backend). Bit identity is not promised
// across backends (GOMLX_BACKEND go vs xla), across builds with and without
// GOEXPERIMENT=simd, across CPU architectures, nor on XLA/GPU at all: GPU
// kernels may sum in a varying order (atomics, autotuned algorithms). There a
// resumed run is statistically, not bitwise, the same as an uninterrupted one.
type Run struct {
	Dir  string
	Info RunInfo
	tr   *Trainer
	lock *os.File
	hist *os.File
	// histSize is the number of history bytes written (and kept) so far.
	histSize int64
	lastEval int64

	// OnStep and OnEval, when set, are called after every step and evaluation
	// (progress bars, live plots).
	OnStep func(StepRecord)
	OnEval func(EvalRecord, *Images)
}

// OpenOrCreate opens the run in dir, or creates it with cfg when dir holds none.
// An existing run must have been created with the same cfg: the error lists the
// differences.
func OpenOrCreate(dir string, cfg Config, env Env, meta map[string]string) (*Run, error) {
	if _, err := os.Stat(filepath.Join(dir, configFile)); err == nil {
		info, err := ReadRunInfo(dir)
		if err != nil {
			return nil, err
		}
		if d := info.Config.Diff(cfg); len(d) > 0 {
			return nil, fmt.Errorf("run %s exists with a different config (%s): use another directory, or the run's own settings to continue it", dir, strings.Join(d, "; "))
		}
		return Open(dir, env)
	}
	return Create(dir, cfg, env, meta)
}

// Create makes a new run in dir (created if needed; it must not hold a run).
func Create(dir string, cfg Config, env Env, meta map[string]string) (*Run, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create run directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, configFile)); err == nil {
		unlockDir(lock)
		return nil, fmt.Errorf("%s already holds a run: open it, or choose another directory", dir)
	}
	removeStaleTemps(dir)
	r := &Run{Dir: dir, Info: RunInfo{Format: RunFormat, Config: cfg, Meta: meta}, lock: lock}
	if err := r.start(env, true); err != nil {
		// Remove what this call wrote, so that the directory can be reused
		// (with other settings) rather than hold half a run.
		for _, f := range []string{configFile, historyFile, poolFile, stateFile} {
			os.Remove(filepath.Join(dir, f))
		}
		r.Close()
		return nil, err
	}
	return r, nil
}

// Open opens an existing run in dir with env (which must provide the same base
// generator and reward as when it was created) and resumes from its last checkpoint.
func Open(dir string, env Env) (*Run, error) {
	info, err := ReadRunInfo(dir)
	if err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	removeStaleTemps(dir)
	r := &Run{Dir: dir, Info: *info, lock: lock}
	_, statErr := os.Stat(filepath.Join(dir, stateFile))
	if err := r.start(env, errors.Is(statErr, os.ErrNotExist)); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// removeStaleTemps deletes the temporary files of atomic writes that a killed
// process left behind (".state.ckpt.tmp-*" ...). Only the holder of the lock
// writes them, so with the lock held none of them is in use.
func removeStaleTemps(dir string) {
	for _, name := range []string{configFile, stateFile, poolFile} {
		stale, _ := filepath.Glob(filepath.Join(dir, "."+name+".tmp-*"))
		for _, f := range stale {
			os.Remove(f)
		}
	}
}

// start builds the trainer and either begins a new run (step 0: config, pool,
// evaluation, checkpoint) or restores the last checkpoint.
func (r *Run) start(env Env, fresh bool) error {
	tr, err := NewTrainer(r.Info.Config, env)
	if err != nil {
		return err
	}
	r.tr = tr
	hp := filepath.Join(r.Dir, historyFile)
	if fresh {
		if err := WriteFileAtomic(filepath.Join(r.Dir, configFile), func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(r.Info)
		}); err != nil {
			return err
		}
		if r.hist, err = os.OpenFile(hp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			return fmt.Errorf("cannot write the history: %w", err)
		}
		if err := tr.buildPool(); err != nil {
			return err
		}
		if err := r.savePool(); err != nil {
			return err
		}
		if err := r.evaluate(); err != nil {
			return err
		}
		return r.Checkpoint()
	}
	if err := r.restore(); err != nil {
		return err
	}
	if r.hist, err = os.OpenFile(hp, os.O_RDWR|os.O_CREATE, 0o644); err != nil {
		return fmt.Errorf("cannot open the history: %w", err)
	}
	st, err := r.hist.Stat()
	if err != nil {
		return err
	}
	if st.Size() < r.histSize {
		return fmt.Errorf("run %s: %s is shorter (%d bytes) than its checkpoint says (%d): the history was damaged", r.Dir, historyFile, st.Size(), r.histSize)
	}
	if st.Size() > r.histSize {
		// Steps after the last checkpoint are recomputed; their history goes.
		if err := r.hist.Truncate(r.histSize); err != nil {
			return fmt.Errorf("cannot trim the history: %w", err)
		}
	}
	if _, err := r.hist.Seek(r.histSize, io.SeekStart); err != nil {
		return err
	}
	if tr.pool == nil && !tr.spec.Online {
		return r.loadPool()
	}
	return nil
}

// runMeta is the metadata of state.ckpt.
type runMeta struct {
	Step        int64     `json:"step"`
	OptimStep   int64     `json:"optim_step"`
	RNG         string    `json:"rng"`
	HistoryLen  int64     `json:"history_bytes"`
	LastEval    int64     `json:"last_eval"`
	Rewards     []float64 `json:"rewards,omitempty"`
	Weights     []float64 `json:"weights,omitempty"`
	Labels      []int32   `json:"labels,omitempty"`
	BaseParams  int       `json:"base_params"`
	ConfigCheck string    `json:"config"`
}

// Checkpoint syncs the history and atomically writes the run's state.
func (r *Run) Checkpoint() error {
	tr := r.tr
	if err := r.hist.Sync(); err != nil {
		return fmt.Errorf("cannot sync the history: %w", err)
	}
	cfgJSON, _ := json.Marshal(r.Info.Config)
	meta := runMeta{
		Step: tr.step, OptimStep: tr.opt.Step, RNG: tr.rng.State(), HistoryLen: r.histSize, LastEval: r.lastEval,
		Rewards: tr.rewards, Weights: tr.weights, Labels: tr.labels, BaseParams: tr.params.NumParams(), ConfigCheck: string(cfgJSON),
	}
	parts := []*nets.Params{tr.params.Prefixed("trainee"), tr.opt.M, tr.opt.V, tr.snapshot.Prefixed("snapshot")}
	if tr.x1 != nil {
		parts = append(parts, &nets.Params{Names: []string{"batch/x1"}, Tensors: []*tensors.Tensor{tr.x1}})
	}
	return WriteCheckpoint(filepath.Join(r.Dir, stateFile), kindRun, meta, nets.Merge(parts...))
}

func (r *Run) restore() error {
	tr := r.tr
	path := filepath.Join(r.Dir, stateFile)
	c, err := ReadCheckpoint(path)
	if err != nil {
		return err
	}
	if c.Kind != kindRun {
		return fmt.Errorf("%s holds a %q, not a run state", path, c.Kind)
	}
	var meta runMeta
	if err := json.Unmarshal(c.Meta, &meta); err != nil {
		return fmt.Errorf("%s: metadata: %w", path, err)
	}
	cfgJSON, _ := json.Marshal(r.Info.Config)
	if meta.ConfigCheck != string(cfgJSON) {
		return fmt.Errorf("%s was written for another config than %s holds: the run directory is inconsistent", path, configFile)
	}
	specs := tr.env.Base.Flow.Specs()
	load := func(prefix string) (*nets.Params, error) {
		p := c.Params.Sub(prefix)
		if err := p.Match(specs); err != nil {
			return nil, fmt.Errorf("%s: %s does not fit the base model (was the run made with another one?): %w", path, prefix, err)
		}
		return p, nil
	}
	if tr.params, err = load("trainee"); err != nil {
		return err
	}
	if tr.snapshot, err = load("snapshot"); err != nil {
		return err
	}
	m, err := load("adam_m")
	if err != nil {
		return err
	}
	v, err := load("adam_v")
	if err != nil {
		return err
	}
	tr.opt.M, tr.opt.V = m.Prefixed("adam_m"), v.Prefixed("adam_v")
	tr.opt.Step = meta.OptimStep
	if err := tr.rng.SetState(meta.RNG); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tr.step = meta.Step
	tr.rewards, tr.weights, tr.labels = meta.Rewards, meta.Weights, meta.Labels
	if i := c.Params.Index("batch/x1"); i >= 0 {
		x1 := c.Params.Tensors[i]
		want := append([]int{r.Info.Config.Batch}, tr.env.Base.SampleShape()...)
		if !slices.Equal(x1.Shape().Dimensions, want) || len(tr.weights) != r.Info.Config.Batch {
			return fmt.Errorf("%s: the saved batch has shape %v, want %v", path, x1.Shape().Dimensions, want)
		}
		tr.x1 = x1
	}
	r.histSize, r.lastEval = meta.HistoryLen, meta.LastEval
	return nil
}

func (r *Run) savePool() error {
	p := r.tr.pool
	if p == nil {
		return nil
	}
	meta := map[string]any{"rewards": p.rewards, "labels": p.labels, "n": p.n}
	params := &nets.Params{Names: []string{"x1"}, Tensors: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(p.x, append([]int{p.n}, r.tr.env.Base.SampleShape()...)...)}}
	return WriteCheckpoint(filepath.Join(r.Dir, poolFile), kindPool, meta, params)
}

func (r *Run) loadPool() error {
	path := filepath.Join(r.Dir, poolFile)
	c, err := ReadCheckpoint(path)
	if err != nil {
		return err
	}
	var meta struct {
		Rewards []float64 `json:"rewards"`
		Labels  []int32   `json:"labels"`
		N       int       `json:"n"`
	}
	if c.Kind != kindPool || json.Unmarshal(c.Meta, &meta) != nil || c.Params.Len() != 1 {
		return fmt.Errorf("%s is not a sample pool", path)
	}
	x := c.Params.Tensors[0]
	want := append([]int{meta.N}, r.tr.env.Base.SampleShape()...)
	if !slices.Equal(x.Shape().Dimensions, want) || len(meta.Rewards) != meta.N || (meta.Labels != nil && len(meta.Labels) != meta.N) {
		return fmt.Errorf("%s: pool of shape %v does not fit the run (want %v)", path, x.Shape().Dimensions, want)
	}
	r.tr.pool = &pool{x: nets.Float32s(x), labels: meta.Labels, rewards: meta.Rewards, n: meta.N}
	return nil
}

// appendHistory writes one record as a JSON line.
func (r *Run) appendHistory(rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := r.hist.Write(b); err != nil {
		return fmt.Errorf("cannot append to %s: %w", filepath.Join(r.Dir, historyFile), err)
	}
	r.histSize += int64(len(b))
	return nil
}

func (r *Run) evaluate() error {
	rec, imgs, err := r.tr.Evaluate()
	if err != nil {
		return fmt.Errorf("evaluation at step %d: %w", r.tr.step, err)
	}
	if err := r.appendHistory(rec); err != nil {
		return err
	}
	r.lastEval = r.tr.step
	if r.OnEval != nil {
		r.OnEval(rec, imgs)
	}
	return nil
}

// StepCount is the number of gradient steps done so far.
func (r *Run) StepCount() int64 { return r.tr.step }

// Config is the run's configuration.
func (r *Run) Config() Config { return r.Info.Config }

// Step runs n more gradient steps, evaluating every EvalEvery steps and saving a
// checkpoint every CheckpointEvery steps and at the end. When ctx is cancelled it
// stops after the current step, saves and returns ctx.Err(). When a step fails
// (a bad reward, an overflowing weight) the run is saved as it was before that
// step and the error says what went wrong.
func (r *Run) Step(ctx context.Context, n int) error {
	return r.StepTo(ctx, r.tr.step+int64(n))
}

// StepTo runs gradient steps until StepCount() reaches total (no-op if already there).
func (r *Run) StepTo(ctx context.Context, total int64) (err error) {
	if r.tr == nil {
		return fmt.Errorf("run %s is closed", r.Dir)
	}
	cfg := r.Info.Config
	// saveFailed: a checkpoint failed in the loop; the deferred save would only
	// repeat its error (a full disk stays full).
	saveFailed := false
	defer func() {
		if saveFailed {
			return
		}
		if cerr := r.Checkpoint(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	for r.tr.step < total {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := r.tr.Step()
		if err != nil {
			return err
		}
		if err := r.appendHistory(rec); err != nil {
			return err
		}
		if r.OnStep != nil {
			r.OnStep(rec)
		}
		if r.tr.step%int64(cfg.EvalEvery) == 0 {
			if err := r.evaluate(); err != nil {
				return err
			}
		}
		if r.tr.step%int64(cfg.CheckpointEvery) == 0 && r.tr.step < total {
			if err := r.Checkpoint(); err != nil {
				saveFailed = true
				return err
			}
		}
	}
	return nil
}

// Evaluate evaluates the trainee now and records it, unless the current step
// already has an evaluation; it returns the latest evaluation.
func (r *Run) Evaluate() (EvalRecord, error) {
	if r.lastEval != r.tr.step {
		if err := r.evaluate(); err != nil {
			return EvalRecord{}, err
		}
		if err := r.Checkpoint(); err != nil {
			return EvalRecord{}, err
		}
	}
	_, evals, err := r.History()
	if err != nil || len(evals) == 0 {
		return EvalRecord{}, err
	}
	return evals[len(evals)-1], nil
}

// History reads the run's step and evaluation records.
func (r *Run) History() ([]StepRecord, []EvalRecord, error) {
	return ReadHistory(filepath.Join(r.Dir, historyFile), r.histSize)
}

// ReadHistory reads a history file: its first limit bytes (limit < 0: all; a
// partial last line, as a crash can leave, is ignored).
func ReadHistory(path string, limit int64) ([]StepRecord, []EvalRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var rd io.Reader = f
	if limit >= 0 {
		rd = io.LimitReader(f, limit)
	}
	return DecodeHistory(rd)
}

// DecodeHistory parses history records; a damaged line is an error naming its number.
func DecodeHistory(rd io.Reader) ([]StepRecord, []EvalRecord, error) {
	var steps []StepRecord
	var evals []EvalRecord
	br := bufio.NewReaderSize(rd, 1<<16)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// A last line without its newline is a write the process did not finish.
			return steps, evals, nil
		}
		if err != nil {
			return steps, evals, err
		}
		if len(b) > 1<<20 {
			return steps, evals, fmt.Errorf("history line %d is %d bytes long: not a history file", line, len(b))
		}
		var kind struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(b, &kind); err != nil {
			return steps, evals, fmt.Errorf("history line %d is damaged: %v", line, err)
		}
		switch kind.Kind {
		case "train":
			var s StepRecord
			if err := json.Unmarshal(b, &s); err != nil {
				return steps, evals, fmt.Errorf("history line %d: %v", line, err)
			}
			steps = append(steps, s)
		case "eval":
			var e EvalRecord
			if err := json.Unmarshal(b, &e); err != nil {
				return steps, evals, fmt.Errorf("history line %d: %v", line, err)
			}
			evals = append(evals, e)
		default:
			return steps, evals, fmt.Errorf("history line %d has unknown kind %q", line, kind.Kind)
		}
	}
}

// Generator returns the fine-tuned generator: the base model with the trainee's
// current weights (shared, not copied).
func (r *Run) Generator() *Generator {
	g := r.tr.env.Base.WithParams(r.tr.params)
	g.Sampler = r.Info.Config.Sampler
	return g
}

// Samples draws n images from the trainee with noise from seed (the same seed
// gives the same noise at every step, so the pictures show the change of the model).
func (r *Run) Samples(n int, seed uint64) (*Images, error) {
	if n <= 0 {
		return nil, fmt.Errorf("samples: n must be positive, got %d", n)
	}
	g := r.tr.env.Base
	rng := NewRNG(seed)
	noise := SampleNoise(rng.Rand, n*g.SampleSize())
	var labels []int32
	if k := g.NumClasses(); k > 0 {
		labels = make([]int32, n)
		for i := range labels {
			labels[i] = int32(i % k)
		}
	}
	_, imgs, err := g.Sample(r.tr.env.Backend, r.Info.Config.Sampler, r.tr.params, noise, n, labels)
	return imgs, err
}

// Close saves nothing; it releases the lock and files. Step has already saved.
func (r *Run) Close() error {
	var errs []error
	if r.hist != nil {
		errs = append(errs, r.hist.Close())
		r.hist = nil
	}
	errs = append(errs, unlockDir(r.lock))
	r.lock = nil
	r.tr = nil
	return errors.Join(errs...)
}

// LatestParams reads the trainee's weights and step from a run's last checkpoint
// without opening the run, so it works while another process trains it.
func LatestParams(dir string, flow nets.Velocity) (*nets.Params, int64, error) {
	path := filepath.Join(dir, stateFile)
	c, err := ReadCheckpoint(path)
	if err != nil {
		return nil, 0, err
	}
	if c.Kind != kindRun {
		return nil, 0, fmt.Errorf("%s holds a %q, not a run state", path, c.Kind)
	}
	var meta runMeta
	if err := json.Unmarshal(c.Meta, &meta); err != nil {
		return nil, 0, fmt.Errorf("%s: metadata: %w", path, err)
	}
	p := c.Params.Sub("trainee")
	if err := p.Match(flow.Specs()); err != nil {
		return nil, 0, fmt.Errorf("%s: the run's weights do not fit its base model: %w", path, err)
	}
	return p, meta.Step, nil
}

// ClassNames are the judge's class names (nil without a judge).
func (r *Run) ClassNames() []string {
	if r.tr == nil || r.tr.env.Judge == nil {
		return nil
	}
	return r.tr.env.Judge.ClassNames()
}
