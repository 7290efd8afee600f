// Package tbevents writes and reads TensorBoard event files: the files
// named events.out.tfevents.* that TensorBoard (tensorboard --logdir DIR)
// and the tools that import TensorBoard logs read.
//
// An event file is a sequence of records, each
//
//	uint64  length of data (little-endian)
//	uint32  masked CRC-32C of those 8 bytes
//	byte    data[length]
//	uint32  masked CRC-32C of data
//
// where the mask of a CRC c is ((c >> 15) | (c << 17)) + 0xa282ead8, and
// data is a protocol-buffer Event message. The first event of a file holds
// only its format version, "brain.Event:2". This package encodes the few
// fields it needs by hand, with protowire:
//
//	Event      wall_time double = 1, step int64 = 2, file_version string = 3,
//	           summary Summary = 5, session_log SessionLog = 7
//	Summary    repeated Value value = 1
//	Value      tag string = 1, simple_value float = 2, image Image = 4
//	Image      height int32 = 1, width int32 = 2, colorspace int32 = 3,
//	           encoded_image_string bytes = 4 (a PNG)
//	SessionLog status enum = 1 (START = 1)
//
// It is written by hand because no maintained Go module writes these files
// without the TensorFlow C library; the format is small and stable.
package tbevents // import "github.com/orwcfm/orwcfm/pkg/tbevents"

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// FileVersion is the version string of the first event of every file.
const FileVersion = "brain.Event:2"

// FilePrefix starts the name of every event file; TensorBoard finds files
// by it.
const FilePrefix = "events.out.tfevents."

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MaskedCRC is the masked CRC-32C (Castagnoli) of b that records carry.
func MaskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + 0xa282ead8
}

// AppendRecord appends one record holding data to buf.
func AppendRecord(buf, data []byte) []byte {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(data)))
	buf = append(buf, n[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, MaskedCRC(n[:]))
	buf = append(buf, data...)
	return binary.LittleEndian.AppendUint32(buf, MaskedCRC(data))
}

// Scalar is one named value of a step.
type Scalar struct {
	// Tag names the curve ("train/reward"); a slash groups curves.
	Tag string
	// Value is the value; TensorBoard stores it as a float32.
	Value float64
}

// Writer writes one event file. Each call writes its record to the file at
// once (no buffering), so that TensorBoard shows a run while it trains and
// a killed process loses nothing it had written. A Writer may be used from
// several goroutines.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	f    *os.File
	path string
	// Now gives the wall time of the events (time.Now when nil); tests
	// fix it.
	Now func() time.Time
}

// fileSeq tells apart files created by one process in the same second.
var fileSeq atomic.Int64

// Create creates a new event file in dir (created if needed), named
// events.out.tfevents.SECONDS.HOST.PID.N, and writes its version record.
// Files of later sessions sort after earlier ones, as TensorBoard reads
// them.
func Create(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	name := fmt.Sprintf("%s%010d.%s.%d.%d", FilePrefix, time.Now().Unix(), host, os.Getpid(), fileSeq.Add(1))
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	w := &Writer{w: f, f: f, path: path}
	if err := w.writeVersion(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// NewWriter returns a Writer that writes to w, starting with the version
// record.
func NewWriter(w io.Writer) (*Writer, error) {
	ew := &Writer{w: w}
	if err := ew.writeVersion(); err != nil {
		return nil, err
	}
	return ew, nil
}

// Path is the file's path ("" for a Writer made by NewWriter).
func (w *Writer) Path() string { return w.path }

func (w *Writer) now() float64 {
	t := time.Now()
	if w.Now != nil {
		t = w.Now()
	}
	return float64(t.UnixNano()) / 1e9
}

func (w *Writer) writeVersion() error {
	var ev []byte
	ev = protowire.AppendTag(ev, 1, protowire.Fixed64Type)
	ev = protowire.AppendFixed64(ev, math.Float64bits(w.now()))
	ev = protowire.AppendTag(ev, 3, protowire.BytesType)
	ev = protowire.AppendString(ev, FileVersion)
	return w.write(ev)
}

// event encodes an Event with wall time and step around a body of further
// fields.
func (w *Writer) event(step int64, body []byte) []byte {
	var ev []byte
	ev = protowire.AppendTag(ev, 1, protowire.Fixed64Type)
	ev = protowire.AppendFixed64(ev, math.Float64bits(w.now()))
	ev = protowire.AppendTag(ev, 2, protowire.VarintType)
	ev = protowire.AppendVarint(ev, uint64(step))
	return append(ev, body...)
}

func (w *Writer) write(ev []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.w == nil {
		return errors.New("tbevents: write to a closed writer")
	}
	if _, err := w.w.Write(AppendRecord(nil, ev)); err != nil {
		return fmt.Errorf("tbevents: %w", err)
	}
	return nil
}

// summary encodes an Event's summary field holding the given Values.
func summary(values [][]byte) []byte {
	var s []byte
	for _, v := range values {
		s = protowire.AppendTag(s, 1, protowire.BytesType)
		s = protowire.AppendBytes(s, v)
	}
	var b []byte
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	return protowire.AppendBytes(b, s)
}

// Scalars writes one event at step with the scalars as simple values.
// Non-finite values are written as they are (TensorBoard shows NaN).
func (w *Writer) Scalars(step int64, scalars ...Scalar) error {
	if len(scalars) == 0 {
		return nil
	}
	vals := make([][]byte, len(scalars))
	for i, s := range scalars {
		var v []byte
		v = protowire.AppendTag(v, 1, protowire.BytesType)
		v = protowire.AppendString(v, s.Tag)
		v = protowire.AppendTag(v, 2, protowire.Fixed32Type)
		v = protowire.AppendFixed32(v, math.Float32bits(float32(s.Value)))
		vals[i] = v
	}
	return w.write(w.event(step, summary(vals)))
}

// Image writes img at step under tag, encoded as PNG.
func (w *Writer) Image(step int64, tag string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("tbevents: %s: %w", tag, err)
	}
	b := img.Bounds()
	// The colour type of the PNG header (byte 25) gives the channels:
	// 1 gray, 2 gray and alpha, 3 RGB, 4 RGBA, as the Image message counts.
	colorspace := map[byte]int{0: 1, 4: 2, 2: 3, 3: 3, 6: 4}[buf.Bytes()[25]]
	var im []byte
	im = protowire.AppendTag(im, 1, protowire.VarintType)
	im = protowire.AppendVarint(im, uint64(b.Dy()))
	im = protowire.AppendTag(im, 2, protowire.VarintType)
	im = protowire.AppendVarint(im, uint64(b.Dx()))
	im = protowire.AppendTag(im, 3, protowire.VarintType)
	im = protowire.AppendVarint(im, uint64(colorspace))
	im = protowire.AppendTag(im, 4, protowire.BytesType)
	im = protowire.AppendBytes(im, buf.Bytes())
	var v []byte
	v = protowire.AppendTag(v, 1, protowire.BytesType)
	v = protowire.AppendString(v, tag)
	v = protowire.AppendTag(v, 4, protowire.BytesType)
	v = protowire.AppendBytes(v, im)
	return w.write(w.event(step, summary([][]byte{v})))
}

// SessionStart writes a SessionLog START event at step. TensorBoard then
// discards the events of earlier files at step and later: the steps that a
// killed process wrote after its last checkpoint, which the resumed run
// computes again.
func (w *Writer) SessionStart(step int64) error {
	var sl []byte
	sl = protowire.AppendTag(sl, 1, protowire.VarintType)
	sl = protowire.AppendVarint(sl, 1) // START
	var b []byte
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	b = protowire.AppendBytes(b, sl)
	return w.write(w.event(step, b))
}

// Close closes the file (a Writer made by NewWriter closes nothing).
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w = nil
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	return f.Close()
}

// Files lists the event files in dir, in the order TensorBoard reads them
// (by name).
func Files(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, FilePrefix+"*"))
	return m, err
}
