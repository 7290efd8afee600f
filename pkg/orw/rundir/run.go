// Package rundir keeps a fine-tuning run in a directory, so that it can be
// stepped from separate processes (notebook cells), resumed after a crash, and
// read while another process trains it.
package rundir

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
	"strings"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
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
	// Format is the version of the run directory layout.
	Format   = 1
	kindRun  = "run-state"
	kindPool = "sample-pool"
)

// RunInfo is the content of config.json.
type RunInfo struct {
	Format int        `json:"format"`
	Config orw.Config `json:"config"`
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
	if info.Format != Format {
		return nil, fmt.Errorf("run %s: layout version %d, this build reads %d", dir, info.Format, Format)
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
	tr   *orw.Trainer
	lock *os.File
	hist *os.File
	// histSize is the number of history bytes written (and kept) so far.
	histSize int64
	lastEval int64
	// last is the evaluation just recorded, for its event.
	last Eval

	loop *train.Loop[orw.StepRecord]
	// saveFailed: the history or a checkpoint failed in the loop; the final
	// save would only repeat its error (a full disk stays full) or record a
	// state whose history is incomplete.
	saveFailed bool
	// finalEval: evaluate at the end of a loop that reached its total.
	finalEval bool
}

// Eval is the event that a run emits on its loop (train.Loop.OnEvent) for
// every evaluation it records, in the loop or by Evaluate: the record and
// the samples it was computed from.
type Eval struct {
	Record orw.EvalRecord
	Images *orw.Images
}

// The names of the hooks that a run registers on its loop (see Loop).
const (
	HookHistory    = "history"
	HookEvaluate   = "evaluate"
	HookCheckpoint = "checkpoint"
)

// OpenOrCreate opens the run in dir, or creates it with cfg when dir holds none.
// An existing run must have been created with the same cfg: the error lists the
// differences.
func OpenOrCreate(dir string, cfg orw.Config, env orw.Env, meta map[string]string) (*Run, error) {
	if _, err := os.Stat(filepath.Join(dir, configFile)); err == nil {
		info, err := ReadRunInfo(dir)
		if err != nil {
			return nil, err
		}
		if d := info.Config.Diff(cfg); len(d) > 0 {
			return nil, fmt.Errorf("run %s was made with another config: it has %s: use another directory, or the run's own config (Info.Config, as ReadRunInfo reads it) to continue it", dir, haveGiven(d))
		}
		return Open(dir, env)
	}
	return Create(dir, cfg, env, meta)
}

// haveGiven rewrites the differences of orw.Config.Diff, "tau: 2 → 3" (the
// run's value first), as "tau 2, the config given has 3", so that the
// message says which value is the run's.
func haveGiven(diff []string) string {
	parts := make([]string, len(diff))
	for i, d := range diff {
		key, values, ok1 := strings.Cut(d, ": ")
		have, given, ok2 := strings.Cut(values, " → ")
		if !ok1 || !ok2 {
			parts[i] = d
			continue
		}
		parts[i] = key + " " + have + ", the config given has " + given
	}
	return strings.Join(parts, "; ")
}

// Create makes a new run in dir (created if needed; it must not hold a run).
// cfg is checked once, by orw.NewTrainer, before any file of the run is
// written.
func Create(dir string, cfg orw.Config, env orw.Env, meta map[string]string) (*Run, error) {
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
	r := &Run{Dir: dir, Info: RunInfo{Format: Format, Config: cfg, Meta: meta}, lock: lock}
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
func Open(dir string, env orw.Env) (*Run, error) {
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
func (r *Run) start(env orw.Env, fresh bool) error {
	tr, err := orw.NewTrainer(r.Info.Config, env)
	if err != nil {
		return err
	}
	r.tr = tr
	r.loop = r.newLoop()
	hp := filepath.Join(r.Dir, historyFile)
	if fresh {
		if err := ckpt.WriteFileAtomic(filepath.Join(r.Dir, configFile), func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(r.Info)
		}); err != nil {
			return err
		}
		if r.hist, err = os.OpenFile(hp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			return fmt.Errorf("cannot write the history: %w", err)
		}
		if err := tr.BuildPool(); err != nil {
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
	if !tr.Online() {
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
	Alpha       float64   `json:"alpha,omitempty"`       // the W2 budget's α (Config.W2Budget)
	W2Smoothed  float64   `json:"w2_smoothed,omitempty"` // and its smoothed W2
	BaseParams  int       `json:"base_params"`
	ConfigCheck string    `json:"config"`
}

// Checkpoint syncs the history and atomically writes the run's state.
func (r *Run) Checkpoint() error {
	if err := r.hist.Sync(); err != nil {
		return fmt.Errorf("cannot sync the history: %w", err)
	}
	st := r.tr.State()
	cfgJSON, _ := json.Marshal(r.Info.Config)
	meta := runMeta{
		Step: st.Step, OptimStep: st.Optim.Step, RNG: st.RNG, HistoryLen: r.histSize, LastEval: r.lastEval,
		Weights: st.Weights, BaseParams: st.Params.NumParams(), ConfigCheck: string(cfgJSON),
	}
	if r.Info.Config.W2Budget > 0 {
		meta.Alpha, meta.W2Smoothed = st.Alpha, st.W2Smoothed
	}
	parts := []*nets.Params{st.Params.Prefixed("trainee"), st.Optim.M, st.Optim.V, st.Snapshot.Prefixed("snapshot")}
	if st.Batch != nil {
		meta.Rewards, meta.Labels = st.Batch.Rewards, st.Batch.Labels
		parts = append(parts, &nets.Params{Names: []string{"batch/x1"}, Tensors: []*tensors.Tensor{st.Batch.Tensor()}})
	}
	return ckpt.Write(filepath.Join(r.Dir, stateFile), kindRun, meta, nets.Merge(parts...))
}

// sameConfig reports whether saved, the JSON of a Config kept in a state file,
// is cfg. The JSON is decoded and encoded again before comparing, so that a name
// an older build wrote in another spelling (the solver "RK4", which Config now
// writes "rk4") still matches the run's config.json.
func sameConfig(saved string, cfg orw.Config) bool {
	want, _ := json.Marshal(cfg)
	if saved == string(want) {
		return true
	}
	var c orw.Config
	if json.Unmarshal([]byte(saved), &c) != nil {
		return false
	}
	got, _ := json.Marshal(c)
	return string(got) == string(want)
}

func (r *Run) restore() error {
	path := filepath.Join(r.Dir, stateFile)
	c, meta, err := readState(path)
	if err != nil {
		return err
	}
	if !sameConfig(meta.ConfigCheck, r.Info.Config) {
		return fmt.Errorf("%s was written for another config than %s holds: the run directory is inconsistent", path, configFile)
	}
	st := r.tr.State()
	opt := *st.Optim
	opt.M, opt.V, opt.Step = c.Params.Sub("adam_m").Prefixed("adam_m"), c.Params.Sub("adam_v").Prefixed("adam_v"), meta.OptimStep
	st = orw.TrainerState{Step: meta.Step, Params: c.Params.Sub("trainee"), Snapshot: c.Params.Sub("snapshot"), Optim: &opt, RNG: meta.RNG, Weights: meta.Weights,
		Alpha: meta.Alpha, W2Smoothed: meta.W2Smoothed}
	if i := c.Params.Index("batch/x1"); i >= 0 {
		x1 := c.Params.Tensors[i]
		d := x1.Shape().Dimensions
		if len(d) == 0 {
			return fmt.Errorf("%s: the saved batch is a scalar", path)
		}
		st.Batch = &orw.Samples{X: nets.Float32s(x1), Shape: d[1:], Labels: meta.Labels, Rewards: meta.Rewards}
	}
	if err := r.tr.SetState(st); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r.histSize, r.lastEval = meta.HistoryLen, meta.LastEval
	return nil
}

// readState reads a run's state checkpoint and its metadata.
func readState(path string) (*ckpt.Checkpoint, *runMeta, error) {
	c, err := ckpt.Read(path)
	if err != nil {
		return nil, nil, err
	}
	if c.Kind != kindRun {
		return nil, nil, fmt.Errorf("%s holds a %q, not a run state", path, c.Kind)
	}
	var meta runMeta
	if err := json.Unmarshal(c.Meta, &meta); err != nil {
		return nil, nil, fmt.Errorf("%s: metadata: %w", path, err)
	}
	return c, &meta, nil
}

func (r *Run) savePool() error {
	p := r.tr.Pool()
	if p == nil {
		return nil
	}
	meta := map[string]any{"rewards": p.Rewards, "labels": p.Labels, "n": p.Len()}
	params := &nets.Params{Names: []string{"x1"}, Tensors: []*tensors.Tensor{p.Tensor()}}
	return ckpt.Write(filepath.Join(r.Dir, poolFile), kindPool, meta, params)
}

func (r *Run) loadPool() error {
	path := filepath.Join(r.Dir, poolFile)
	c, err := ckpt.Read(path)
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
	d := x.Shape().Dimensions
	if len(d) == 0 || d[0] != meta.N {
		return fmt.Errorf("%s: pool of shape %v does not hold the %d points its metadata says", path, d, meta.N)
	}
	if err := r.tr.SetPool(&orw.Samples{X: nets.Float32s(x), Shape: d[1:], Labels: meta.Labels, Rewards: meta.Rewards}); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
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
		return fmt.Errorf("evaluation at step %d: %w", r.tr.StepCount(), err)
	}
	if err := r.appendHistory(rec); err != nil {
		return err
	}
	r.lastEval = r.tr.StepCount()
	r.last = Eval{Record: rec, Images: imgs}
	return nil
}

// StepCount is the number of gradient steps done so far.
func (r *Run) StepCount() int64 { return r.tr.StepCount() }

// Config is the run's configuration.
func (r *Run) Config() orw.Config { return r.Info.Config }

// Loop is the run's training loop, the same for every Step and StepTo call
// of this Run. The run registers its own hooks on it when opened, in this
// order:
//
//	step  "history"     (train.PriorityRecord)    the history line of each step
//	step  "evaluate"    (train.PriorityRecord+1)  every EvalEvery steps: an
//	                                              evaluation, recorded, then emitted
//	                                              as an Eval event
//	step  "checkpoint"  (train.PrioritySave)      every CheckpointEvery steps,
//	                                              except the last (the end saves)
//	end   "checkpoint"  (train.PrioritySave)      a checkpoint at the end, unless the
//	                                              history or a checkpoint failed
//	                                              (then the last good one stands, and
//	                                              a resumed run recomputes the steps
//	                                              after it)
//	end   "evaluate"    (train.PrioritySave+1)    with EvaluateAtEnd, when the loop
//	                                              reached its total: Evaluate
//
// Callers add theirs (progress bars, live plots, event files) with
// OnStep, OnEvent (evaluations: Eval values) and OnEnd; display hooks use
// train.PriorityDisplay, so they see the step recorded, evaluated and saved.
// A hook's error stops the loop after the step, and StepTo returns it.
func (r *Run) Loop() *train.Loop[orw.StepRecord] { return r.loop }

// EvaluateAtEnd sets whether StepTo evaluates the run (see Evaluate) once
// it has reached its total, so that the last evaluation describes the model
// it ends with, even when the total is not a multiple of EvalEvery.
func (r *Run) EvaluateAtEnd(on bool) { r.finalEval = on }

// newLoop returns the run's loop with its own hooks (see Loop).
func (r *Run) newLoop() *train.Loop[orw.StepRecord] {
	cfg := r.Info.Config
	loop := train.New[orw.StepRecord](r.tr, r.tr.StepCount())
	if cfg.Spec().Online {
		// The online methods draw a refresh period's samples at its
		// first step (drawahead.go): that step's cost recurs.
		loop.Period = int64(cfg.RefreshEvery)
	}
	loop.OnStep(HookHistory, 1, train.PriorityRecord, func(_ *train.Loop[orw.StepRecord], rec orw.StepRecord) error {
		return r.saving(r.appendHistory(rec))
	})
	loop.OnStep(HookEvaluate, int64(cfg.EvalEvery), train.PriorityRecord+1, func(*train.Loop[orw.StepRecord], orw.StepRecord) error {
		if err := r.saving(r.evaluate()); err != nil {
			return err
		}
		return r.emitEval()
	})
	loop.OnStep(HookCheckpoint, int64(cfg.CheckpointEvery), train.PrioritySave, func(l *train.Loop[orw.StepRecord], _ orw.StepRecord) error {
		if l.Step() >= l.Total {
			return nil // the end hook saves
		}
		return r.saving(r.Checkpoint())
	})
	loop.OnEnd(HookCheckpoint, train.PrioritySave, func(*train.Loop[orw.StepRecord], error) error {
		if r.saveFailed {
			return nil
		}
		return r.Checkpoint()
	})
	loop.OnEnd(HookEvaluate, train.PrioritySave+1, func(l *train.Loop[orw.StepRecord], err error) error {
		if !r.finalEval || err != nil || l.Step() < l.Total {
			return nil
		}
		_, err = r.Evaluate()
		return err
	})
	return loop
}

// saving notes a failed write of the history or a checkpoint (see saveFailed).
func (r *Run) saving(err error) error {
	if err != nil {
		r.saveFailed = true
	}
	return err
}

// emitEval emits the evaluation just recorded on the loop.
func (r *Run) emitEval() error { return r.loop.Emit(r.last) }

// Step runs n more gradient steps, evaluating every EvalEvery steps and saving a
// checkpoint every CheckpointEvery steps and at the end. When ctx is cancelled it
// stops after the current step, saves and returns ctx.Err(). When a step fails
// (a bad reward, an overflowing weight) the run is saved as it was before that
// step and the error says what went wrong.
func (r *Run) Step(ctx context.Context, n int) error {
	return r.StepTo(ctx, r.tr.StepCount()+int64(n))
}

// StepTo runs gradient steps until StepCount() reaches total (no-op if already
// there, but for the end hooks), through the run's loop and its hooks (see
// Loop). The errors of the run's own hooks are returned as they are, those of
// the callers' hooks as a *train.HookError naming the hook.
func (r *Run) StepTo(ctx context.Context, total int64) error {
	if r.tr == nil {
		return fmt.Errorf("run %s is closed", r.Dir)
	}
	r.saveFailed = false
	r.loop.Total = total
	err := r.loop.Run(ctx)
	var he *train.HookError
	if errors.As(err, &he) && he.Hook != HookCheckpoint && he.Hook != HookHistory && he.Hook != HookEvaluate {
		return err
	}
	// Errors of our own hooks read as before the loop existed: without the hook's name.
	if errors.As(err, &he) {
		return unwrapHook(err)
	}
	return err
}

// unwrapHook removes the HookError wrappers of the run's own hooks.
func unwrapHook(err error) error {
	var he *train.HookError
	if errors.As(err, &he) && err == error(he) {
		return he.Err
	}
	return err
}

// Evaluate evaluates the trainee now, records it, saves a checkpoint and
// emits the evaluation on the run's loop (see Loop), unless the current step
// already has an evaluation; it returns the latest evaluation.
func (r *Run) Evaluate() (orw.EvalRecord, error) {
	if r.lastEval != r.tr.StepCount() {
		if err := r.evaluate(); err != nil {
			return orw.EvalRecord{}, err
		}
		if err := r.Checkpoint(); err != nil {
			return orw.EvalRecord{}, err
		}
		if err := r.emitEval(); err != nil {
			return orw.EvalRecord{}, err
		}
	}
	_, evals, err := r.History()
	if err != nil || len(evals) == 0 {
		return orw.EvalRecord{}, err
	}
	return evals[len(evals)-1], nil
}

// History reads the run's step and evaluation records.
func (r *Run) History() ([]orw.StepRecord, []orw.EvalRecord, error) {
	return ReadHistory(filepath.Join(r.Dir, historyFile), r.histSize)
}

// ReadHistory reads a history file: its first limit bytes (limit < 0: all; a
// partial last line, as a crash can leave, is ignored).
func ReadHistory(path string, limit int64) ([]orw.StepRecord, []orw.EvalRecord, error) {
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
func DecodeHistory(rd io.Reader) ([]orw.StepRecord, []orw.EvalRecord, error) {
	var steps []orw.StepRecord
	var evals []orw.EvalRecord
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
			var s orw.StepRecord
			if err := json.Unmarshal(b, &s); err != nil {
				return steps, evals, fmt.Errorf("history line %d: %v", line, err)
			}
			steps = append(steps, s)
		case "eval":
			var e orw.EvalRecord
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
func (r *Run) Generator() *orw.Generator {
	g := r.tr.Env().Base.WithParams(r.tr.Params())
	g.Sampler = r.Info.Config.Sampler
	return g
}

// Samples draws n images from the trainee with noise from seed (the same seed
// gives the same noise at every step, so the pictures show the change of the model).
func (r *Run) Samples(n int, seed uint64) (*orw.Images, error) {
	return r.samples(r.tr.Params(), n, seed)
}

// BaseSamples draws n images from the base model, before fine-tuning, with
// the noise that Samples draws from seed: side by side with Samples they
// show what the run changed.
func (r *Run) BaseSamples(n int, seed uint64) (*orw.Images, error) {
	return r.samples(r.tr.Env().Base.Params, n, seed)
}

// samples draws n images with the weights params and noise from seed.
func (r *Run) samples(params *nets.Params, n int, seed uint64) (*orw.Images, error) {
	if n <= 0 {
		return nil, fmt.Errorf("samples: n must be positive, got %d", n)
	}
	env := r.tr.Env()
	g := env.Base
	rng := orw.NewRNG(seed)
	noise := orw.SampleNoise(rng.Rand, n*g.SampleSize())
	var labels []int32
	if k := g.NumClasses(); k > 0 {
		labels = make([]int32, n)
		for i := range labels {
			labels[i] = int32(i % k)
		}
	}
	_, imgs, err := g.Sample(env.Backend, r.Info.Config.Sampler, params, noise, n, labels)
	return imgs, err
}

// Trainer is the run's trainer (nil once the run is closed).
func (r *Run) Trainer() *orw.Trainer { return r.tr }

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
	c, meta, err := readState(path)
	if err != nil {
		return nil, 0, err
	}
	p := c.Params.Sub("trainee")
	if err := p.Match(flow.Specs()); err != nil {
		return nil, 0, fmt.Errorf("%s: the run's weights do not fit its base model: %w", path, err)
	}
	return p, meta.Step, nil
}

// Saved is what a run directory holds as of its last checkpoint, read
// without opening the run (see ReadSaved).
type Saved struct {
	// Info is the run's config.json.
	Info *RunInfo
	// Step is the step count of the last checkpoint.
	Step int64
	// Steps and Evals are the history that belongs to that checkpoint.
	Steps []orw.StepRecord
	Evals []orw.EvalRecord
}

// ReadSaved reads the run in dir as of its last checkpoint without opening
// it (it takes no lock, so it works while another process trains the run):
// its config, step count and the history up to that checkpoint (not the
// steps after it, which a resumed run recomputes). A directory without a
// checkpoint, or with a damaged one, is an error.
func ReadSaved(dir string) (*Saved, error) {
	info, err := ReadRunInfo(dir)
	if err != nil {
		return nil, err
	}
	_, meta, err := readState(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	steps, evals, err := ReadHistory(filepath.Join(dir, historyFile), meta.HistoryLen)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", dir, err)
	}
	return &Saved{Info: info, Step: meta.Step, Steps: steps, Evals: evals}, nil
}

// Finished reports whether the saved run has reached total steps: opening
// it would train nothing more.
func (s *Saved) Finished(total int64) bool { return s.Step >= total }

// Finished reports whether the run in dir has been saved at total steps or
// more (see ReadSaved); a directory that holds no readable run is an error.
func Finished(dir string, total int64) (bool, error) {
	s, err := ReadSaved(dir)
	if err != nil {
		return false, err
	}
	return s.Finished(total), nil
}

// ClassNames are the judge's class names (nil without a judge).
func (r *Run) ClassNames() []string {
	if r.tr == nil || r.tr.Env().Judge == nil {
		return nil
	}
	return r.tr.Env().Judge.ClassNames()
}
