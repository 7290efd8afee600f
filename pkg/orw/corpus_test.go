package orw

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// readCorpus reads the committed seed corpus of a fuzz target: file name → input.
func readCorpus(t *testing.T, fuzz string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", fuzz, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus for %s: %v", fuzz, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lit, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "go test fuzz v1\n[]byte(")
		if !ok || !strings.HasSuffix(lit, ")") {
			t.Fatalf("%s is not a fuzz corpus file", f)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = []byte(s)
	}
	return out
}

// TestCheckpointCorpusVerdicts checks what the checkpoint reader says about each
// committed seed: the valid files decode, every damaged one is ErrCorrupt, and
// none makes the reader allocate more than the file justifies.
func TestCheckpointCorpusVerdicts(t *testing.T) {
	valid := map[string]bool{"run_state": true, "sample_pool": true, "valid_small": true, "no_tensors": true}
	for name, data := range readCorpus(t, "FuzzDecodeCheckpoint") {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeCheckpoint(bytes.NewReader(data), int64(len(data)))
		runtime.ReadMemStats(&after)
		// Absurd sizes in a header are checked against the file size before
		// anything is allocated: the reader's 1 MiB buffer and a few copies
		// of the data are all a decode may take.
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(2<<20+8*len(data)); got > limit {
			t.Errorf("%s: decoding %d bytes allocated %d bytes (limit %d)", name, len(data), got, limit)
		}
		if valid[name] && err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !valid[name] && !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

// TestHistoryCorpusVerdicts does the same for the history reader (a partial
// last line is what a crash leaves: it is dropped, not an error).
func TestHistoryCorpusVerdicts(t *testing.T) {
	valid := map[string]int{"run_history": 7, "partial_last_line": 7, "truncated_mid_record": 3, "empty": 0}
	for name, data := range readCorpus(t, "FuzzDecodeHistory") {
		steps, evals, err := DecodeHistory(bytes.NewReader(data))
		n, ok := valid[name]
		if ok && (err != nil || len(steps)+len(evals) != n) {
			t.Errorf("%s: %d records, err %v; want %d records", name, len(steps)+len(evals), err, n)
		}
		if !ok && err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
