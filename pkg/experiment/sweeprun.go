package experiment

import (
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
