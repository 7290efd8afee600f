package orw

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzDecodeCheckpoint feeds arbitrary bytes to the checkpoint reader: it must
// return an error or a checkpoint, never panic or allocate without bound, and a
// checkpoint it accepts must encode back to the same bytes.
//
//	go test -run XXX -fuzz FuzzDecodeCheckpoint -fuzztime 60s ./pkg/orw/
func FuzzDecodeCheckpoint(f *testing.F) {
	var valid bytes.Buffer
	if err := EncodeCheckpoint(&valid, "test", map[string]int{"step": 3}, sampleParams()); err != nil {
		f.Fatal(err)
	}
	f.Add(valid.Bytes())
	f.Add(valid.Bytes()[:40])
	f.Add([]byte{})
	f.Add([]byte(checkpointMagic))
	var empty bytes.Buffer
	EncodeCheckpoint(&empty, "empty", nil, nil)
	f.Add(empty.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCheckpoint(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		var again bytes.Buffer
		var meta any
		if len(c.Meta) > 0 {
			meta = c.Meta
		}
		if err := EncodeCheckpoint(&again, c.Kind, meta, c.Params); err != nil {
			t.Fatalf("re-encoding an accepted checkpoint failed: %v", err)
		}
		d, err := DecodeCheckpoint(bytes.NewReader(again.Bytes()), int64(again.Len()))
		if err != nil || d.Kind != c.Kind || !equalParams(c.Params, d.Params) {
			t.Fatalf("an accepted checkpoint does not survive a round trip: %v", err)
		}
	})
}

// FuzzDecodeHistory feeds arbitrary bytes to the history reader: errors, never panics.
//
//	go test -run XXX -fuzz FuzzDecodeHistory -fuzztime 60s ./pkg/orw/
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
