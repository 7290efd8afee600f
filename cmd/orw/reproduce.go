package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/orwcfm/orwcfm/pkg/experiment/paper"
	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
)

func init() {
	register(command{name: "reproduce", summary: "reproduce one of the paper's findings (orw reproduce NAME; --report writes docs/results.md)", run: runReproduce})
}

func runReproduce(ctx context.Context, args []string) error {
	fs := newFlags("reproduce", "orw reproduce NAME|all [flags]: run an experiment of the paper over seeds and write its panels and results file; "+
		"experiments: "+strings.Join(paper.Names(), ", "))
	seeds := fs.Int("seeds", 3, "number of seeds (1..N)")
	workers := fs.Int("j", 1, "runs trained at once")
	quick := fs.Bool("quick", false, "the small size that CI runs (checks that everything runs; the findings need the full size)")
	out := fs.String("out", "", "where the run directories go (default runs/reproduce, or runs/reproduce-quick with --quick)")
	results := fs.String("results", "", "where the results file NAME.json and the panels NAME/*.png go (default docs/results; with --quick, OUT/results)")
	dataDir := fs.String("data", "", "compression-tradeoff: a CIFAR-10 directory (default: Fashion-MNIST)")
	report := fs.Bool("report", false, "write docs/results.md from the results files (see --results) and stop")
	reportPath := fs.String("report-file", "docs/results.md", "the page --report writes")
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join("runs", "reproduce")
		if *quick {
			*out += "-quick"
		}
	}
	if *results == "" {
		*results = filepath.Join("docs", "results")
		if *quick {
			*results = filepath.Join(*out, "results")
		}
	}
	if *report {
		if name != "" {
			return fmt.Errorf("--report takes no experiment name (it reports every results file in %s)", *results)
		}
		return writeReport(*results, *reportPath)
	}
	if name == "" {
		return fmt.Errorf("name an experiment: orw reproduce NAME, with NAME one of %s, or all", strings.Join(paper.Names(), ", "))
	}
	if *seeds < 1 || *seeds > 100 {
		return fmt.Errorf("--seeds must be in 1..100, got %d", *seeds)
	}
	exps, err := experimentsNamed(name)
	if err != nil {
		return err
	}
	be, err := backend()
	if err != nil {
		return err
	}
	for _, e := range exps {
		cmd := fmt.Sprintf("orw reproduce %s --seeds %d -j %d", e.Name, *seeds, *workers)
		if *quick {
			cmd += " --quick"
		}
		if *dataDir != "" {
			cmd += " --data " + *dataDir
		}
		res, err := paper.Reproduce(ctx, e, paper.Options{Size: paper.Size{Quick: *quick, DataDir: *dataDir}, Seeds: *seeds, Workers: *workers,
			RunsDir: *out, Out: *results, Command: cmd, Progress: os.Stderr, Backend: be})
		if err != nil {
			return fmt.Errorf("%s: %w (run the same command again to resume)", e.Name, err)
		}
		printReproduced(e, res, *results)
	}
	return nil
}

// experimentsNamed returns the experiment of the paper named name, or all of
// them for "all".
func experimentsNamed(name string) ([]*paper.Experiment, error) {
	names := []string{name}
	if name == "all" {
		names = paper.Names()
	}
	var exps []*paper.Experiment
	for _, n := range names {
		e, err := paper.Lookup(n)
		if err != nil {
			return nil, err
		}
		exps = append(exps, e)
	}
	return exps, nil
}

// printReproduced says where an experiment's results file went and how its
// checks came out.
func printReproduced(e *paper.Experiment, res *paper.Results, resultsDir string) {
	fmt.Printf("%s: %s (%.0f s); results in %s\n", e.Name, e.Title, res.WallSeconds, filepath.Join(resultsDir, e.Name+".json"))
	for _, c := range res.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		if res.Quick {
			mark = "n/a "
		}
		fmt.Printf("  %s %s: %s\n", mark, c.Claim, c.Value)
	}
}

// writeReport regenerates the results page from the results files.
func writeReport(dir, page string) error {
	rel, err := filepath.Rel(filepath.Dir(page), dir)
	if err != nil {
		rel = dir
	}
	var b bytes.Buffer
	if err := paper.Report(&b, dir, filepath.ToSlash(rel)); err != nil {
		return err
	}
	if err := ckpt.WriteFileAtomic(page, func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err }); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", page)
	return nil
}
