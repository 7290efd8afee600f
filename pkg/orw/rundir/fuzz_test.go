package rundir

import (
	"bytes"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw/internal/fuzzcorpus"
)

// FuzzDecodeHistory feeds arbitrary bytes to the history reader: errors, never panics.
//
//	go test -run XXX -fuzz FuzzDecodeHistory -fuzztime 60s ./pkg/orw/rundir/
func FuzzDecodeHistory(f *testing.F) {
	f.Add([]byte(`{"kind":"train","step":1,"reward_mean":0.5}` + "\n" + `{"kind":"eval","step":1,"class_counts":[1,2]}` + "\n"))
	f.Add([]byte(`{"kind":"train","step":1}` + "\n" + `{"kind":"tr`))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"kind":"mystery"}` + "\n"))
	f.Add([]byte(`[1,2,3]` + "\n"))
	f.Add([]byte(`{"kind":"eval","class_counts":"x"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		steps, evals, err := DecodeHistory(bytes.NewReader(data))
		if err == nil && len(steps)+len(evals) > strings.Count(string(data), "\n") {
			t.Fatalf("%d records from %d lines", len(steps)+len(evals), strings.Count(string(data), "\n"))
		}
	})
}

// TestHistoryCorpusVerdicts does the same for the history reader (a partial
// last line is what a crash leaves: it is dropped, not an error).
func TestHistoryCorpusVerdicts(t *testing.T) {
	valid := map[string]int{"run_history": 7, "partial_last_line": 7, "truncated_mid_record": 3, "empty": 0}
	for name, data := range fuzzcorpus.Read(t, "FuzzDecodeHistory") {
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
