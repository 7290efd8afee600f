package ckpt

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw/internal/fuzzcorpus"
)

// FuzzDecodeCheckpoint feeds arbitrary bytes to the checkpoint reader: it must
// return an error or a checkpoint, never panic or allocate without bound, and a
// checkpoint it accepts must encode back to the same bytes.
//
//	go test -run XXX -fuzz FuzzDecodeCheckpoint -fuzztime 60s ./pkg/orw/ckpt/
func FuzzDecode(f *testing.F) {
	var valid bytes.Buffer
	if err := Encode(&valid, "test", map[string]int{"step": 3}, sampleParams()); err != nil {
		f.Fatal(err)
	}
	f.Add(valid.Bytes())
	f.Add(valid.Bytes()[:40])
	f.Add([]byte{})
	f.Add([]byte(checkpointMagic))
	var empty bytes.Buffer
	Encode(&empty, "empty", nil, nil)
	f.Add(empty.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		var again bytes.Buffer
		var meta any
		if len(c.Meta) > 0 {
			meta = c.Meta
		}
		if err := Encode(&again, c.Kind, meta, c.Params); err != nil {
			t.Fatalf("re-encoding an accepted checkpoint failed: %v", err)
		}
		d, err := Decode(bytes.NewReader(again.Bytes()), int64(again.Len()))
		if err != nil || d.Kind != c.Kind || !c.Params.Equal(d.Params) {
			t.Fatalf("an accepted checkpoint does not survive a round trip: %v", err)
		}
	})
}

// TestCheckpointCorpusVerdicts checks what the checkpoint reader says about each
// committed seed: the valid files decode, every damaged one is ErrCorrupt, and
// none makes the reader allocate more than the file justifies.
func TestCheckpointCorpusVerdicts(t *testing.T) {
	valid := map[string]bool{"run_state": true, "sample_pool": true, "valid_small": true, "no_tensors": true}
	for name, data := range fuzzcorpus.Read(t, "FuzzDecodeCheckpoint") {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(bytes.NewReader(data), int64(len(data)))
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
