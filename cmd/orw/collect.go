package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/orwcfm/orwcfm/pkg/experiment"
)

func init() {
	register(command{name: "collect", summary: "gather finished runs into one table (CSV, JSON) with trade-off plots", run: runCollect})
}

func runCollect(_ context.Context, args []string) error {
	fs := newFlags("collect", "gather the runs under DIR... into table.csv and table.json, with reward and W2 against α and the Pareto front")
	out := fs.String("out", "", "directory for the table and plots (default: DIR, when there is one)")
	partial := fs.Bool("partial", false, "include the runs of sweeps that have not reached their steps, as they are")
	dirs, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		fmt.Fprintln(os.Stderr, "orw collect: give the directories to gather: orw collect DIR... (orw collect -h)")
		return errUsage
	}
	if *out == "" {
		if len(dirs) > 1 {
			return errors.New("several directories: say where the table goes with --out DIR")
		}
		*out = dirs[0]
	}
	c, err := experiment.Collect(dirs...)
	if err != nil {
		return err
	}
	return writeCollection(c, *out, *partial)
}

// parseInterleaved parses flags that may stand before, between and after
// positional arguments ("orw collect DIR --out X DIR2"), and returns the
// positional ones; "-" is positional (standard input) and "--" ends the
// flags. Errors are reported as parse reports them.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		for len(args) > 0 && (args[0] == "-" || !strings.HasPrefix(args[0], "-")) {
			pos, args = append(pos, args[0]), args[1:]
		}
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
	}
}

// parseFlags is parse without the check for positional arguments: it
// parses the flags up to the first argument that is not one.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
		return err
	}
	if msg, ok := badName(fs, err); ok {
		return errors.New(msg)
	}
	fmt.Fprintf(fs.Output(), "%s: %s (%s -h lists the flags)\n", fs.Name(), oneLine(err.Error()), fs.Name())
	return errUsage
}

// writeCollection prints the collected table, reports unfinished runs, and
// writes the table and the plots to dir.
func writeCollection(c *experiment.Collection, dir string, partial bool) error {
	t := c.Table
	if partial {
		for _, u := range c.Unfinished {
			t.Rows = append(t.Rows, u.Result)
		}
	}
	for _, u := range c.Unfinished {
		verb := "left out (--partial includes it)"
		if partial {
			verb = "included as it is"
		}
		fmt.Fprintf(os.Stderr, "orw collect: %s is unfinished, at step %d of %d: %s\n", u.RunDir, u.Steps, u.Target, verb)
	}
	if len(t.Rows) == 0 {
		return errors.New("no finished run to gather (a run of a sweep is finished when it has reached its steps)")
	}
	withEval := false
	for _, r := range t.Rows {
		withEval = withEval || r.Evaluator != nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	header := "run\tseed\tsteps\treward\tW2 estimate\tempirical W2\tclass entropy"
	if withEval {
		header += "\thacking gap\tprecision\trecall\tcoverage"
	}
	fmt.Fprintln(tw, header)
	for _, r := range t.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s", r.Name, r.Seed, r.Steps, fmtNum(r.FinalReward, 'f', 4), fmtNum(r.W2Velocity, 'g', 4), fmtNum(r.EmpiricalW2, 'g', 4), fmtNum(r.ClassEntropy, 'f', 3))
		if withEval {
			gap, p, rc, c := math.NaN(), math.NaN(), math.NaN(), math.NaN()
			if e := r.Evaluator; e != nil {
				p, rc, c = e.Precision, e.Recall, e.Coverage
				if e.HackingGap != nil {
					gap = *e.HackingGap
				}
			}
			fmt.Fprintf(tw, "\t%s\t%s\t%s\t%s", fmtNum(gap, 'f', 4), fmtNum(p, 'f', 3), fmtNum(rc, 'f', 3), fmtNum(c, 'f', 3))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	files, skipped, err := experiment.WriteCollected(t, dir)
	for _, s := range skipped {
		fmt.Fprintf(os.Stderr, "orw collect: no %s\n", s)
	}
	if err != nil {
		return err
	}
	fmt.Printf("collected %d runs into %s: %s\n", len(t.Rows), dir, joinRel(dir, files))
	return nil
}

func fmtNum(v float64, f byte, prec int) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, f, prec, 64)
}

func joinRel(dir string, files []string) string {
	s := ""
	for i, f := range relative(dir, files) {
		if i > 0 {
			s += ", "
		}
		s += f
	}
	return s
}
