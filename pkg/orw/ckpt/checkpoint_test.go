package ckpt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

func sampleParams() *nets.Params {
	return &nets.Params{
		Names: []string{"a/w", "a/b"},
		Tensors: []*tensors.Tensor{
			tensors.FromFlatDataAndDimensions([]float32{1, -2, 3.5, 4, 5, 6}, 2, 3),
			tensors.FromFlatDataAndDimensions([]float32{0.25}, 1),
		},
	}
}

func encode(t *testing.T, meta any, p *nets.Params) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, "test", meta, p); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheckpointRoundTrip(t *testing.T) {
	b := encode(t, map[string]int{"step": 7}, sampleParams())
	c, err := Decode(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != "test" || string(c.Meta) != `{"step":7}` {
		t.Fatalf("kind %q meta %s", c.Kind, c.Meta)
	}
	want := sampleParams()
	if !c.Params.Equal(want) {
		t.Fatalf("tensors differ after a round trip")
	}
}

// TestCheckpointCorruption checks that every truncation and every single-bit flip
// of a valid file is rejected with ErrCorrupt (the CRC catches flips in the data).
func TestCheckpointCorruption(t *testing.T) {
	b := encode(t, map[string]int{"step": 7}, sampleParams())
	for n := 0; n < len(b); n++ {
		if _, err := Decode(bytes.NewReader(b[:n]), int64(n)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrCorrupt", n, err)
		}
	}
	for i := 0; i < len(b); i++ {
		for bit := 0; bit < 8; bit++ {
			c := bytes.Clone(b)
			c[i] ^= 1 << bit
			if _, err := Decode(bytes.NewReader(c), int64(len(c))); err == nil {
				t.Fatalf("flipping bit %d of byte %d was not detected", bit, i)
			}
		}
	}
}

// TestCheckpointHugeHeaderClaims checks that a header claiming enormous tensors
// fails before allocating.
func TestCheckpointHugeHeaderClaims(t *testing.T) {
	hdr := []byte(`{"kind":"x","tensors":[{"name":"w","shape":[1073741824]}]}`)
	var b bytes.Buffer
	b.WriteString(checkpointMagic)
	binary.Write(&b, binary.LittleEndian, uint32(Version))
	binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	b.Write(hdr)
	b.Write([]byte{0, 0, 0, 0})
	_, err := Decode(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("err = %v", err)
	}
}

func TestWriteCheckpointAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.ckpt")
	if err := Write(path, "test", nil, sampleParams()); err != nil {
		t.Fatal(err)
	}
	// A failing writer must leave the previous file intact and no temporary files.
	boom := errors.New("disk full")
	err := WriteFileAtomic(path, func(w io.Writer) error { w.Write([]byte("partial")); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	c, err := Read(path)
	if err != nil || !c.Params.Equal(sampleParams()) {
		t.Fatalf("previous checkpoint damaged: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left files behind: %v", entries)
	}
	if _, err := Read(filepath.Join(dir, "missing.ckpt")); err == nil || !strings.Contains(err.Error(), "missing.ckpt") {
		t.Fatalf("missing file error should name the file: %v", err)
	}
}
