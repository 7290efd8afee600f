package experiment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
)

// SweepFile is the file that a sweep writes into each of its run
// directories: which sweep and point the run is, and the step count it is
// trained to, so that Collect can tell finished runs from interrupted ones.
const SweepFile = "sweep.json"

// SweepRecord is the content of SweepFile.
type SweepRecord struct {
	// Sweep is the sweep's name, Index the point's index and Points the
	// sweep's size.
	Sweep  string `json:"sweep"`
	Index  int    `json:"index"`
	Points int    `json:"points"`
	// Name is the run's trial name (seeds of a setting share it).
	Name string `json:"name"`
	// Steps is the step count the run is trained to.
	Steps int64 `json:"steps"`
	// Settings are the point's values, by canonical key.
	Settings map[string]string `json:"settings"`
}

// Record returns the SweepRecord of point p of s.
func (s *Sweep) Record(p Point) SweepRecord {
	rec := SweepRecord{Sweep: s.Name, Index: p.Index, Points: s.Size(), Name: p.Run.Name, Steps: p.Run.Steps, Settings: map[string]string{}}
	for _, v := range p.Values {
		rec.Settings[v.Key] = v.Values[0]
	}
	return rec
}

// ReadSweepRecord reads the SweepFile of a run directory.
func ReadSweepRecord(dir string) (SweepRecord, error) {
	var rec SweepRecord
	b, err := os.ReadFile(filepath.Join(dir, SweepFile))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%s: %w", filepath.Join(dir, SweepFile), err)
	}
	return rec, nil
}

// Grid returns the grid of the given points of s, executed with workers
// workers and opts. Each run, once opened, first records its SweepRecord
// in its directory (SweepFile), then calls opts.Hooks.Start.
func (s *Sweep) Grid(points []Point, workers int, opts Options) Grid {
	runs := make([]Run, len(points))
	for i, p := range points {
		rec := s.Record(p)
		runs[i] = p.Run
		runs[i].sweep = &rec
	}
	return Grid{Runs: runs, Workers: workers, Options: opts}
}

// writeSweepRecord writes rec into dir's SweepFile, atomically.
func writeSweepRecord(dir string, rec SweepRecord) error {
	return ckpt.WriteFileAtomic(filepath.Join(dir, SweepFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rec)
	})
}

// SweepGridFile is the file in a sweep's directory (Sweep.Dir) that holds
// the sweep as it was last run (Sweep.MarshalJSON), so that it continues
// from its directory alone (ReadSweepDir).
const SweepGridFile = "grid.json"

// WriteGrid writes the sweep into its directory's SweepGridFile,
// atomically (the tasks of a cluster sweep write the same file at once).
func (s *Sweep) WriteGrid() error {
	b, err := s.MarshalJSON()
	if err != nil {
		return err
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, b, "", "  "); err != nil {
		return err
	}
	b = indented.Bytes()
	if err := os.MkdirAll(s.Dir(), 0o755); err != nil {
		return err
	}
	return ckpt.WriteFileAtomic(filepath.Join(s.Dir(), SweepGridFile), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// ReadSweepDir reads the sweep of a sweep directory from its
// SweepGridFile. The sweep's name and out are the directory's (its base
// name and parent), wherever the sweep was run from.
func ReadSweepDir(dir string) (*Sweep, error) {
	path := filepath.Join(dir, SweepGridFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s holds no %s, the sweep that orw sweep run records in its directory (sweeps run before it was recorded have none): give the sweep's grid file, or its settings as flags", dir, SweepGridFile)
	}
	s, err := ReadSweep(path)
	if err != nil {
		return nil, err
	}
	clean := filepath.Clean(dir)
	s.Name, s.Out = filepath.Base(clean), filepath.Dir(clean)
	return s, nil
}
