// Package examples holds the library's runnable examples, one main package
// per directory, run with go run ./examples/NAME (docs/library.md walks
// through them). Its test builds every example and runs it at its tiny size
// (-tiny: a few steps of small batches), checking its exit status, the
// files it writes and that it says where its pictures went.
package examples

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// examples are the examples, the files each writes under its -out
// directory at the tiny size (the pictures, .png, must be named in its
// output) and, for some, a check of what they hold.
var examples = []struct {
	name  string
	files []string
	check func(t *testing.T, dir string)
}{
	{"custom-reward", []string{
		"left-ink/before-after.png", "left-ink/history.jsonl",
		"three-not-five/before-after.png", "three-not-five/history.jsonl",
	}, nil},
	{"custom-data", []string{"images/00000.png", "images/00063.png", "base.ckpt", "base.png", "run/before-after.png", "run/history.jsonl"}, nil},
	{"sweep-in-go", []string{"table.csv", "table.json", "reward_vs_alpha.png", "w2_vs_alpha.png", "pareto.png", "samples.png"}, checkSweepTable},
}

// TestExamples builds the examples (one go build, which links them side by
// side) and runs each with -tiny into a temporary directory.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: builds the three examples and trains their tiny runs (a minute or two)")
	}
	bin := t.TempDir()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for _, ex := range examples {
		args = append(args, "./"+ex.name)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			exe := filepath.Join(bin, ex.name)
			dir := t.TempDir()
			deadline, ok := t.Deadline() // stop the example before go test stops the test
			if !ok {
				deadline = time.Now().Add(time.Hour)
			}
			ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-10*time.Second))
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, exe, "-tiny", "-out", dir)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s -tiny: %v\nstdout:\n%s\nstderr:\n%s", ex.name, err, stdout.String(), stderr.String())
			}
			t.Logf("%s -tiny ran in %s", ex.name, time.Since(start).Round(100*time.Millisecond))
			for _, f := range ex.files {
				path := filepath.Join(dir, f)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s did not write %s: %v", ex.name, f, err)
					continue
				}
				if strings.HasSuffix(f, ".png") {
					checkPNG(t, path)
					if !strings.HasPrefix(f, "images/") && !strings.Contains(stdout.String(), path) {
						t.Errorf("%s wrote %s but does not say so:\n%s", ex.name, f, stdout.String())
					}
				}
			}
			if ex.check != nil {
				ex.check(t, dir)
			}
		})
	}
}

// checkPNG checks that path is a PNG picture of more than a few pixels.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if b := img.Bounds(); b.Dx() < 28 || b.Dy() < 28 {
		t.Errorf("%s is only %dx%d pixels", path, b.Dx(), b.Dy())
	}
}

// checkSweepTable checks the table of the tiny sweep: one row per setting
// of the tiny grid (τ = 2 with α = 0 and α = 1), each trained to its steps.
func checkSweepTable(t *testing.T, dir string) {
	f, err := os.Open(filepath.Join(dir, "table.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("table.csv has %d lines, want a header and 2 rows:\n%v", len(rows), rows)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	for i, want := range []string{"0", "1"} {
		r := rows[i+1]
		if r[col["task"]] != "mnist-even" || r[col["tau"]] != "2" || r[col["alpha"]] != want || r[col["steps"]] != "4" || r[col["final_reward"]] == "" {
			t.Errorf("row %d: %v, want mnist-even, τ = 2, α = %s, 4 steps, a final reward", i+1, r, want)
		}
	}
}
