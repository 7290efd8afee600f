package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/experiment/cluster"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
	"github.com/orwcfm/orwcfm/pkg/orw/train"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

func init() {
	register(command{name: "sweep", summary: "run a grid of fine-tuning runs here, or emit it for Slurm or Kubernetes", run: runSweep})
}

const sweepUsage = `orw sweep: a grid of fine-tuning runs (docs/sweeps.md)

Usage:
  orw sweep run [GRID] [flags]          run the grid here, -j N at a time (finished runs are
                                        skipped, interrupted ones resume)
  orw sweep run [GRID] --index I        run point I only; without --index, SLURM_ARRAY_TASK_ID
                                        or JOB_COMPLETION_INDEX names it when set
  orw sweep list [GRID] [flags]         list the points, their directories and progress
  orw sweep emit slurm [GRID] [flags]   print a Slurm job array script (sbatch FILE)
  orw sweep emit k8s [GRID] [flags]     print a Kubernetes Indexed Job manifest (kubectl apply -f FILE)

GRID is a YAML or JSON file ("-": standard input) of settings: name, out, task, model,
reward, prompt, two-sided, target, data, steps, seed and any config field, each a value or
a list of values. The same settings are flags; a flag's comma-separated list is an axis of
the grid, and a flag replaces the file's setting. orw sweep CMD -h lists the flags.
`

func runSweep(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stdout, sweepUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "run":
		return sweepRun(ctx, args[1:])
	case "list":
		return sweepList(args[1:])
	case "emit":
		if len(args) < 2 || (args[1] != "slurm" && args[1] != "k8s" && args[1] != "kubernetes") {
			fmt.Fprintln(os.Stderr, "orw sweep emit: say what to emit: orw sweep emit slurm|k8s [GRID] [flags]")
			return errUsage
		}
		return sweepEmit(args[1], args[2:])
	}
	fmt.Fprintf(os.Stderr, "orw sweep: unknown sub-command %q; valid: run, list, emit (orw sweep -h)\n", args[0])
	return errUsage
}

// sweepFlags are the flags that describe a sweep, common to run, list and emit.
type sweepFlags struct {
	fs       *flag.FlagSet
	name     *string
	out      *string
	settings map[string]*string // canonical key → flag value
}

// newSweepFlags defines the sweep's flags on a new flag set.
func newSweepFlags(cmd, summary string) *sweepFlags {
	fs := newFlags("sweep "+cmd, summary)
	sf := &sweepFlags{fs: fs, settings: map[string]*string{}}
	sf.name = fs.String("name", "", "the sweep's name; its runs go to OUT/NAME (replaces the file's)")
	sf.out = fs.String("out", "", "root of the run directories (default "+experiment.DefaultSweepOut+"; replaces the file's)")
	lists := " (a comma-separated list sweeps it)"
	sf.settings["task"] = fs.String("task", "", "task or tasks (orw tasks lists them; default "+experiment.DefaultTask+")")
	sf.settings["steps"] = fs.String("steps", "", "gradient steps of each run (default: the task's)"+lists)
	sf.settings["seed"] = fs.String("seeds", "", "seeds of each setting"+lists)
	for _, f := range tasks.OptionFields {
		sf.settings[f.Name] = fs.String(f.Name, "", f.SweepUsage)
	}
	for _, f := range experiment.ConfigFields {
		if f.Flag == "" {
			continue
		}
		usage := strings.ReplaceAll(f.Usage, "`", "")
		if f.Flag == "seed" {
			sf.settings["seed-alias"] = fs.String("seed", "", "the same as --seeds")
			continue
		}
		sf.settings[f.Flag] = fs.String(f.Flag, "", usage+lists)
	}
	return sf
}

// parse parses the flags around an optional GRID argument (before or after
// the flags) and builds the sweep: the file's settings, replaced by the
// flags given. A sweep directory as GRID, or --name (and --out) naming one
// that holds its grid (experiment.SweepGridFile), continues that sweep:
// the flags given must agree with its settings (checkStored).
func (sf *sweepFlags) parse(args []string) (*experiment.Sweep, error) {
	pos, err := parseInterleaved(sf.fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 1 {
		fmt.Fprintf(sf.fs.Output(), "%s: unexpected argument %q (one GRID file at most)\n", sf.fs.Name(), pos[1])
		return nil, errUsage
	}
	var grid string
	if len(pos) == 1 {
		grid = pos[0]
	}
	set := givenFlags(sf.fs)
	if set["seed"] && set["seeds"] {
		return nil, errors.New("--seed and --seeds are the same setting: give one")
	}
	given, err := sf.givenSettings(set)
	if err != nil {
		return nil, err
	}
	if dir, ok := sf.storedDir(grid, set); ok {
		s, err := experiment.ReadSweepDir(dir)
		if err != nil {
			return nil, err
		}
		return s, sf.checkStored(s, set, given, args)
	}
	s := &experiment.Sweep{}
	if grid != "" {
		if s, err = experiment.ReadSweep(grid); err != nil {
			return nil, err
		}
	}
	if set["name"] {
		s.Name = *sf.name
	}
	if set["out"] {
		s.Out = *sf.out
	}
	for _, g := range given {
		if err := s.Set(g.key, g.values...); err != nil {
			return nil, err
		}
	}
	if grid == "" && s.Name == "" {
		return nil, errors.New("no sweep: give a GRID file or a sweep directory, or --name and the settings as flags (orw sweep -h)")
	}
	return s, nil
}

// givenSetting is a sweep setting that a flag gives: its canonical key,
// the flag's name and its values.
type givenSetting struct {
	key, flag string
	values    []string
}

// givenSettings are the settings that the flags set gives, in the order of
// their keys.
func (sf *sweepFlags) givenSettings(set map[string]bool) ([]givenSetting, error) {
	var given []givenSetting
	for _, key := range sortedKeys(mapKeys(sf.settings)) {
		v, flagName := *sf.settings[key], key
		switch key {
		case "seed":
			flagName = "seeds"
		case "seed-alias":
			flagName, key = "seed", "seed"
		}
		if !set[flagName] {
			continue
		}
		vals := experiment.SplitList(key, v)
		for _, x := range vals {
			if x == "" {
				return nil, fmt.Errorf("--%s %q: an empty value in the list", flagName, v)
			}
		}
		given = append(given, givenSetting{key, flagName, vals})
	}
	return given, nil
}

// mapKeys is the set of the keys of m.
func mapKeys[V any](m map[string]V) map[string]bool {
	set := make(map[string]bool, len(m))
	for k := range m {
		set[k] = true
	}
	return set
}

// storedDir is the sweep directory to continue: GRID when it is a
// directory, or, without GRID, OUT/NAME of --name (and --out) when it
// holds the sweep's grid.
func (sf *sweepFlags) storedDir(grid string, set map[string]bool) (string, bool) {
	if grid != "" {
		st, err := os.Stat(grid)
		return grid, err == nil && st.IsDir()
	}
	if !set["name"] {
		return "", false
	}
	s := experiment.Sweep{Name: *sf.name, Out: *sf.out}
	_, err := os.Stat(filepath.Join(s.Dir(), experiment.SweepGridFile))
	return s.Dir(), err == nil
}

// checkStored compares the flags given with the settings of the stored
// sweep s, which it continues. A flag that leaves the sweep's runs as they
// are (the same values, or a value that means the same) is accepted;
// --steps is taken (the runs continue to it); the others are conflicts,
// each named as it was typed.
func (sf *sweepFlags) checkStored(s *experiment.Sweep, set map[string]bool, given []givenSetting, args []string) error {
	base, err := s.Points()
	if err != nil {
		return err
	}
	var conflicts []string
	for _, name := range []string{"name", "out"} {
		have, gives := s.Name, *sf.name
		if name == "out" {
			have, gives = filepath.Clean(s.OutDir()), filepath.Clean(*sf.out)
		}
		if set[name] && have != gives {
			conflicts = append(conflicts, fmt.Sprintf("%s %s, the flag %s gives %s", name, have, typedFlag(args, name), gives))
		}
	}
	var steps []string
	for _, g := range given {
		if g.key == "steps" {
			steps = g.values
			continue
		}
		c := *s
		c.Settings = slices.Clone(s.Settings)
		if err := c.Set(g.key, g.values...); err != nil {
			return err
		}
		points, err := c.Points()
		if err != nil {
			return err
		}
		if !sameRuns(base, points) {
			conflicts = append(conflicts, sweepConflict(s, g, typedFlag(args, g.flag)))
		}
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("sweep %s has %s: leave %s out to continue the sweep with its own settings, or give another --name for a new sweep",
			s.Dir(), strings.Join(conflicts, "; "), theFlags(len(conflicts)))
	}
	if steps != nil {
		return s.Set("steps", steps...)
	}
	return nil
}

// sameRuns reports whether two lists of points have the same runs in the
// same order: the same settings, whatever the names of the points ("0.5"
// and "0.50" name the same α).
func sameRuns(a, b []experiment.Point) bool {
	settings := func(p experiment.Point) string {
		t := p.Run.Trial
		t.Name = ""
		return experiment.TrialDir("", "", t)
	}
	return slices.EqualFunc(a, b, func(p, q experiment.Point) bool { return settings(p) == settings(q) })
}

// sweepConflict says what the sweep s has of a setting that a flag, as
// typed, gives otherwise: "tau 0.5,2, the flag --tau gives 1,4", "no batch
// (the task's default), the flag --batch gives 64".
func sweepConflict(s *experiment.Sweep, g givenSetting, typed string) string {
	has := "no " + g.key + " (the default)"
	if vals := s.Lookup(g.key); vals != nil {
		has = g.key + " " + strings.Join(vals, ",")
	}
	return fmt.Sprintf("%s, the flag %s gives %s", has, typed, strings.Join(g.values, ","))
}

// indexFromEnv is the point that a cluster engine asks for: the Slurm array
// task or the Kubernetes completion index, if set.
func indexFromEnv() (int, string, bool, error) {
	for _, v := range []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"} {
		if s, ok := os.LookupEnv(v); ok && s != "" {
			i, err := strconv.Atoi(s)
			if err != nil {
				return 0, v, false, fmt.Errorf("%s=%q is not an index", v, s)
			}
			return i, v, true, nil
		}
	}
	return 0, "", false, nil
}

func sweepRun(ctx context.Context, args []string) error {
	sf := newSweepFlags("run", "run a sweep's points here (all, -j at a time, or one: --index)")
	workers := sf.fs.Int("j", 1, "runs trained at once (they share the backend; each holds its own model)")
	index := sf.fs.Int("index", -1, "run only this point (default: SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when set, else all)")
	tensorboard := sf.fs.Bool("tensorboard", true, "write TensorBoard event files into each run directory")
	s, err := sf.parse(args)
	if err != nil {
		return err
	}
	if *workers < 1 {
		return fmt.Errorf("-j must be at least 1, got %d", *workers)
	}
	points, err := s.Points()
	if err != nil {
		return err
	}
	one, from := *index, "--index"
	if one < 0 {
		i, v, ok, err := indexFromEnv()
		if err != nil {
			return err
		}
		if ok {
			one, from = i, v
		}
	}
	if one >= 0 {
		if one >= len(points) {
			return fmt.Errorf("%s %d is outside the sweep's %d points (0..%d)", from, one, len(points), len(points)-1)
		}
		points = points[one : one+1]
	}
	be, err := backend()
	if err != nil {
		return err
	}
	if err := s.WriteGrid(); err != nil {
		return fmt.Errorf("cannot record the sweep in its directory: %w", err)
	}
	total := s.Size()
	prog := &sweepProgress{total: total, w: os.Stdout}
	opts := experiment.Options{Backend: be, FinalEval: true, TensorBoard: *tensorboard, Hooks: prog.hooks()}
	for _, p := range points {
		prog.index.Store(p.Run.Dir, p.Index)
		prog.text.Store(p.Run.Dir, p.Text())
	}
	if one < 0 {
		fmt.Printf("sweep %s: %d runs in %s, %d at a time\n", s.Name, len(points), s.Dir(), min(*workers, len(points)))
	}
	t0 := time.Now()
	table, err := s.Grid(points, *workers, opts).Execute(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &interrupted{fmt.Sprintf("interrupted after %d of %d runs; finished runs are kept and the interrupted ones saved: run the same command again to resume", len(table.Rows), len(points))}
		}
		return err
	}
	if one >= 0 {
		return nil
	}
	fmt.Printf("sweep %s: %d runs done in %s\n", s.Name, len(table.Rows), time.Since(t0).Round(time.Second))
	c, err := experiment.Collect(s.Dir())
	if err != nil {
		return err
	}
	return writeCollection(c, s.Dir(), false)
}

// sweepProgress prints a line when a run starts, every tenth of its steps,
// and when it ends, prefixed with its point: several runs at once stay
// readable, and so do the logs of cluster tasks.
type sweepProgress struct {
	total int
	w     io.Writer
	mu    sync.Mutex
	index sync.Map // run dir → point index
	text  sync.Map // run dir → point text
}

func (p *sweepProgress) printf(r experiment.Run, format string, a ...any) {
	i, _ := p.index.Load(r.Dir)
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%d/%d] %s: %s\n", i.(int)+1, p.total, r.Name, fmt.Sprintf(format, a...))
}

func (p *sweepProgress) hooks() experiment.Hooks {
	return experiment.Hooks{
		Start: func(r experiment.Run, run *rundir.Run) error {
			text, _ := p.text.Load(r.Dir)
			if s := run.StepCount(); s > 0 {
				p.printf(r, "resuming %s at step %d of %d (%s)", r.Dir, s, r.Steps, text)
			} else {
				p.printf(r, "starting %s, %d steps (%s)", r.Dir, r.Steps, text)
			}
			every := max(r.Steps/10, 1)
			l := run.Loop()
			l.OnStep("sweep progress", every, train.PriorityDisplay, func(l *train.Loop[orw.StepRecord], rec orw.StepRecord) error {
				if l.Step() < r.Steps {
					p.printf(r, "step %d/%d, batch reward %.3f, time left %s", l.Step(), r.Steps, rec.RewardMean, train.TimeLeft(l.Remaining()))
				}
				return nil
			})
			// After the final evaluation (FinalEval), when training succeeded.
			l.OnEnd("sweep progress", train.PriorityDisplay, func(_ *train.Loop[orw.StepRecord], err error) error {
				if err != nil {
					return nil
				}
				if err := finalGrid(r, run); err != nil {
					return err
				}
				_, evals, herr := run.History()
				if herr == nil && len(evals) > 0 {
					e := evals[len(evals)-1]
					p.printf(r, "done at step %d: reward %.4g, W2 estimate %.4g", run.StepCount(), e.Reward, e.W2Velocity)
				}
				return nil
			})
			return nil
		},
		Skip: func(r experiment.Run, res experiment.Result) error {
			p.printf(r, "already finished (%d steps), skipped", res.Steps)
			return nil
		},
	}
}

// finalGrid writes the final sample grid of a sweep's run into its
// directory (samples/final.png), as orw finetune draws it.
func finalGrid(r experiment.Run, run *rundir.Run) error {
	task, err := tasks.Lookup(r.TaskName())
	if err != nil {
		return err
	}
	opts, err := task.Resolve(r.Options)
	if err != nil {
		return err
	}
	return newTaskViews(run, r.Dir, task, opts, r.Config).grid("final.png")
}

func sweepList(args []string) error {
	sf := newSweepFlags("list", "list a sweep's points, their run directories and progress")
	asJSON := sf.fs.Bool("json", false, "print the points as JSON (index, settings, dir, steps, done)")
	s, err := sf.parse(args)
	if err != nil {
		return err
	}
	points, err := s.Points()
	if err != nil {
		return err
	}
	type row struct {
		Index    int               `json:"index"`
		Name     string            `json:"name"`
		Settings map[string]string `json:"settings"`
		Dir      string            `json:"dir"`
		Steps    int64             `json:"steps"`
		Done     int64             `json:"done"`
	}
	var rows []row
	for _, p := range points {
		rec := s.Record(p)
		done := int64(0)
		if res, err := experiment.Collect(p.Run.Dir); err == nil {
			for _, r := range res.Table.Rows {
				done = r.Steps
			}
			for _, u := range res.Unfinished {
				done = u.Steps
			}
		}
		rows = append(rows, row{p.Index, p.Run.Name, rec.Settings, p.Run.Dir, p.Run.Steps, done})
	}
	if *asJSON {
		return printJSON(rows)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "index\tsettings\tsteps\tdone\tdirectory")
	for i, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", r.Index, points[i].Text(), r.Steps, r.Done, r.Dir)
	}
	return tw.Flush()
}

func sweepEmit(target string, args []string) error {
	sf := newSweepFlags("emit "+target, "print the files that run a sweep on a cluster's scheduler")
	output := sf.fs.String("o", "", "write to this file instead of standard output")
	parallel := sf.fs.Int("parallel", 0, "tasks (pods) running at once (default: no bound)")
	gpus := sf.fs.Int("gpus", 0, "GPUs per task")
	mem := sf.fs.String("mem", "", "memory per task (Slurm: 8G; Kubernetes: 8Gi)")
	var orwPath, dir, logs, timeLimit, partition, account *string
	var cpus *int
	var image, workdir, claim, mount, namespace, kcpu *string
	var retries *int
	if target == "slurm" {
		self, _ := os.Executable()
		wd, _ := os.Getwd()
		orwPath = sf.fs.String("orw", self, "orw on the compute nodes (default: this orw)")
		dir = sf.fs.String("dir", wd, "directory the tasks run in, on a shared file system (default: this one)")
		logs = sf.fs.String("logs", "", "directory of the tasks' output files (default DIR/OUT/NAME/slurm-logs; created)")
		cpus = sf.fs.Int("cpus", 2, "CPUs per task (GOMAXPROCS follows)")
		timeLimit = sf.fs.String("time", "", "time limit per task (2:00:00)")
		partition = sf.fs.String("partition", "", "partition")
		account = sf.fs.String("account", "", "account")
	} else {
		image = sf.fs.String("image", cluster.DefaultImage, "container image, built from docker/Dockerfile")
		orwPath = sf.fs.String("orw", cluster.DefaultOrw, "orw in the image")
		workdir = sf.fs.String("workdir", cluster.DefaultWorkDir, "working directory in the container")
		claim = sf.fs.String("claim", cluster.DefaultClaim, "PersistentVolumeClaim of the run directories (ReadWriteMany)")
		mount = sf.fs.String("mount", cluster.DefaultMount, "where the claim is mounted; the sweep's out must be inside")
		namespace = sf.fs.String("namespace", "", "namespace (default: kubectl's)")
		retries = sf.fs.Int("retries", cluster.DefaultRetries, "retries of each point whose pod failed (backoffLimitPerIndex)")
		kcpu = sf.fs.String("cpus", "", "CPUs per pod (requests and limits, e.g. 2)")
	}
	s, err := sf.parse(args)
	if err != nil {
		return err
	}
	var text []byte
	if target == "slurm" {
		if !filepath.IsAbs(*dir) {
			return fmt.Errorf("--dir %s: give an absolute path", *dir)
		}
		if *logs == "" {
			out := s.OutDir()
			if !filepath.IsAbs(out) {
				out = filepath.Join(*dir, out)
			}
			*logs = filepath.Join(out, s.Name, "slurm-logs")
		}
		if !filepath.IsAbs(*logs) {
			*logs = filepath.Join(*dir, *logs)
		}
		text, err = cluster.Slurm(s, cluster.SlurmOptions{Orw: *orwPath, Dir: *dir, Logs: *logs, Parallel: *parallel, CPUs: *cpus, Mem: *mem, GPUs: *gpus, Time: *timeLimit, Partition: *partition, Account: *account})
		if err == nil {
			err = os.MkdirAll(*logs, 0o755)
		}
	} else {
		text, err = cluster.Kubernetes(s, cluster.KubernetesOptions{Image: *image, Orw: *orwPath, WorkDir: *workdir, Claim: *claim, Mount: *mount, Namespace: *namespace, Parallelism: *parallel, Retries: *retries, CPU: *kcpu, Memory: *mem, GPUs: *gpus})
	}
	if err != nil {
		return err
	}
	if *output == "" {
		_, err = os.Stdout.Write(text)
		return err
	}
	mode := os.FileMode(0o644)
	if target == "slurm" {
		mode = 0o755
	}
	if err := os.WriteFile(*output, text, mode); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %d runs of sweep %s\n", *output, s.Size(), s.Name)
	return nil
}
