// Package ckpt is the checkpoint file format of the project: named float32
// tensors with a kind and JSON metadata, written atomically and validated
// before anything is allocated when read.
package ckpt

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/orwcfm/orwcfm/pkg/orw/internal/testhooks"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// Checkpoint file format (version 1), all integers little-endian:
//
//	magic      8 bytes  "ORWCKPT\n"
//	version    uint32   Version
//	headerLen  uint32   length of the JSON header (at most 16 MiB)
//	header     JSON     {"kind": ..., "meta": {...}, "tensors": [{"name", "shape"}...]}
//	data       float32  the tensors' values, in header order, row-major
//	crc        uint32   CRC-32 (IEEE) of every byte before it
//
// The reader checks every field against the file size before it allocates, so a
// truncated, corrupt or foreign file is an error naming what is wrong, never a
// panic or a huge allocation.
const (
	checkpointMagic = "ORWCKPT\n"
	// Version is the version of the file format written by Write.
	Version        = 1
	maxHeaderLen   = 16 << 20
	maxTensorElems = 1 << 30
)

// Checkpoint is the content of a checkpoint file: a kind ("generator", "classifier",
// "run", ...), free-form metadata owned by that kind, and named float32 tensors.
type Checkpoint struct {
	Kind   string
	Meta   json.RawMessage
	Params *nets.Params
}

type ckptHeader struct {
	Kind    string          `json:"kind"`
	Meta    json.RawMessage `json:"meta,omitempty"`
	Tensors []ckptTensor    `json:"tensors"`
}

type ckptTensor struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// ErrCorrupt marks errors about damaged or foreign checkpoint files.
var ErrCorrupt = errors.New("corrupt checkpoint")

// Encode writes a checkpoint to w.
func Encode(w io.Writer, kind string, meta any, params *nets.Params) error {
	var raw json.RawMessage
	if meta != nil {
		b, err := json.Marshal(meta)
		if err != nil {
			return fmt.Errorf("checkpoint: encoding metadata: %w", err)
		}
		raw = b
	}
	h := ckptHeader{Kind: kind, Meta: raw}
	if params == nil {
		params = &nets.Params{}
	}
	for i, t := range params.Tensors {
		h.Tensors = append(h.Tensors, ckptTensor{Name: params.Names[i], Shape: t.Shape().Dimensions})
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("checkpoint: encoding header: %w", err)
	}
	crc := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<20)
	bw.WriteString(checkpointMagic)
	var u32 [4]byte
	binary.LittleEndian.PutUint32(u32[:], Version)
	bw.Write(u32[:])
	binary.LittleEndian.PutUint32(u32[:], uint32(len(hb)))
	bw.Write(u32[:])
	bw.Write(hb)
	buf := make([]byte, 0, 1<<16)
	for i, t := range params.Tensors {
		if dt := t.DType().String(); dt != "Float32" && dt != "float32" {
			return fmt.Errorf("checkpoint: tensor %q has dtype %s; only float32 is stored", params.Names[i], dt)
		}
		for _, v := range nets.Float32s(t) {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				bw.Write(buf)
				buf = buf[:0]
			}
		}
		bw.Write(buf)
		buf = buf[:0]
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("checkpoint: writing: %w", err)
	}
	binary.LittleEndian.PutUint32(u32[:], crc.Sum32())
	if _, err := w.Write(u32[:]); err != nil {
		return fmt.Errorf("checkpoint: writing: %w", err)
	}
	return nil
}

// Decode reads a checkpoint of exactly size bytes from r.
func Decode(r io.Reader, size int64) (*Checkpoint, error) {
	if size < int64(fixedLen+4) {
		return nil, corrupt("%d bytes is too short for a checkpoint (empty or truncated file)", size)
	}
	crc := crc32.NewIEEE()
	br := bufio.NewReaderSize(io.TeeReader(io.LimitReader(r, size-4), crc), 1<<20)
	h, hlen, err := readHeader(br, size)
	if err != nil {
		return nil, err
	}
	if err := checkDataLen(h, size-int64(fixedLen)-hlen-4); err != nil {
		return nil, err
	}
	p, err := readTensors(br, h)
	if err != nil {
		return nil, err
	}
	want := crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return nil, corrupt("reading checksum: %v", err)
	}
	if got := binary.LittleEndian.Uint32(tail[:]); got != want {
		return nil, corrupt("checksum mismatch (file damaged)")
	}
	return &Checkpoint{Kind: h.Kind, Meta: h.Meta, Params: p}, nil
}

// fixedLen is the length of the fixed part of the header: the magic, the
// version and the JSON header's length.
const fixedLen = len(checkpointMagic) + 4 + 4

// corrupt is an ErrCorrupt error.
func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// readHeader reads the magic, the version and the JSON header of a file of
// size bytes; hlen is the JSON header's length.
func readHeader(br io.Reader, size int64) (h ckptHeader, hlen int64, err error) {
	head := make([]byte, fixedLen)
	if _, err := io.ReadFull(br, head); err != nil {
		return h, 0, corrupt("reading header: %v", err)
	}
	if string(head[:8]) != checkpointMagic {
		return h, 0, corrupt("not an orwcfm checkpoint (bad magic %q)", head[:8])
	}
	version := binary.LittleEndian.Uint32(head[8:12])
	if version != Version {
		return h, 0, corrupt("format version %d; this build reads version %d (use a matching orwcfm version)", version, Version)
	}
	hlen = int64(binary.LittleEndian.Uint32(head[12:16]))
	if hlen > maxHeaderLen || hlen > size-int64(fixedLen)-4 {
		return h, 0, corrupt("header length %d does not fit in a %d-byte file (truncated?)", hlen, size)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(br, hb); err != nil {
		return h, 0, corrupt("reading header: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(hb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, 0, corrupt("header is not valid JSON: %v", err)
	}
	return h, hlen, nil
}

// checkDataLen checks the header's tensors (unique names, valid shapes)
// against the dataLen bytes of tensor data the file holds.
func checkDataLen(h ckptHeader, dataLen int64) error {
	var total int64
	seen := map[string]bool{}
	for _, t := range h.Tensors {
		if t.Name == "" || seen[t.Name] {
			return corrupt("tensor name %q is empty or repeated", t.Name)
		}
		seen[t.Name] = true
		n := int64(1)
		for _, d := range t.Shape {
			if d <= 0 || d > maxTensorElems {
				return corrupt("tensor %q has invalid shape %v", t.Name, t.Shape)
			}
			n *= int64(d)
			if n > maxTensorElems {
				return corrupt("tensor %q is too large (%v)", t.Name, t.Shape)
			}
		}
		total += n
		if total*4 > dataLen {
			return corrupt("tensors need more than the %d data bytes present (truncated file?)", dataLen)
		}
	}
	if total*4 != dataLen {
		return corrupt("tensors take %d bytes but the file holds %d data bytes", total*4, dataLen)
	}
	return nil
}

// readTensors reads the tensors that the header lists (little-endian float32s).
func readTensors(br io.Reader, h ckptHeader) (*nets.Params, error) {
	p := &nets.Params{}
	raw := make([]byte, 0)
	for _, t := range h.Tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if cap(raw) < 4*n {
			raw = make([]byte, 4*n)
		}
		raw = raw[:4*n]
		if _, err := io.ReadFull(br, raw); err != nil {
			return nil, corrupt("reading tensor %q: %v", t.Name, err)
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		p.Names = append(p.Names, t.Name)
		p.Tensors = append(p.Tensors, tensors.FromFlatDataAndDimensions(vals, t.Shape...))
	}
	return p, nil
}

// Read reads and validates a checkpoint file. Errors name the file.
func Read(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("checkpoint: %s is a directory, not a checkpoint file", path)
	}
	c, err := Decode(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return c, nil
}

// Write writes a checkpoint file atomically: to a temporary file in the
// same directory, synced, then renamed over path, so that a crash at any moment
// leaves either the old file or the new one, never a torn one.
func Write(path, kind string, meta any, params *nets.Params) error {
	return WriteFileAtomic(path, func(w io.Writer) error {
		return Encode(w, kind, meta, params)
	})
}

// WriteFileAtomic writes a file through fill, atomically (temporary file, fsync,
// rename, fsync of the directory). On error the previous file at path is intact
// and the temporary file is removed.
func WriteFileAtomic(path string, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if testhooks.AtomicWrite != nil {
		testhooks.AtomicWrite("written", path)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	// CreateTemp makes the file private; give it the permissions of a normal file.
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if testhooks.AtomicWrite != nil {
		testhooks.AtomicWrite("renamed", path)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
