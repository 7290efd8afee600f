package tbevents

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The CRC-32C check value (the CRC of "123456789") is 0xE3069283; the
// mask rotates it right by 15 bits and adds 0xa282ead8.
func TestMaskedCRC(t *testing.T) {
	var check uint32 = 0xE3069283
	want := (check>>15 | check<<17) + 0xa282ead8
	if got := MaskedCRC([]byte("123456789")); got != want {
		t.Errorf("MaskedCRC(123456789) = %#08x, want %#08x", got, want)
	}
}

// A scalar event, byte by byte as the Event message defines it.
func TestScalarEncoding(t *testing.T) {
	var buf bytes.Buffer
	wall := time.Unix(1700000000, 500000000)
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Now = func() time.Time { return wall }
	start := buf.Len()
	if err := w.Scalars(300, Scalar{"a", 1.5}); err != nil {
		t.Fatal(err)
	}
	rec := buf.Bytes()[start:]
	value := []byte{0x0a, 0x01, 'a', 0x15, 0x00, 0x00, 0xc0, 0x3f} // tag=1 "a", simple_value=2 (fixed32) 1.5
	sum := append([]byte{0x0a, byte(len(value))}, value...)        // Summary.value = 1
	data := []byte{0x09}                                           // wall_time = 1 (fixed64)
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(1700000000.5))
	data = append(data, 0x10, 0xac, 0x02)     // step = 2 (varint 300)
	data = append(data, 0x2a, byte(len(sum))) // summary = 5 (bytes)
	data = append(data, sum...)
	if got := rec[12 : len(rec)-4]; !bytes.Equal(got, data) {
		t.Fatalf("event data\n got % x\nwant % x", got, data)
	}
	if n := binary.LittleEndian.Uint64(rec[:8]); n != uint64(len(data)) || len(rec) != 8+4+len(data)+4 {
		t.Errorf("record length field %d, record %d bytes, data %d", n, len(rec), len(data))
	}
	if got, want := binary.LittleEndian.Uint32(rec[8:12]), MaskedCRC(rec[:8]); got != want {
		t.Errorf("length CRC %#x, want %#x", got, want)
	}
	if got, want := binary.LittleEndian.Uint32(rec[len(rec)-4:]), MaskedCRC(data); got != want {
		t.Errorf("data CRC %#x, want %#x", got, want)
	}
}

// A SessionLog START event, byte by byte: session_log is field 7 of Event
// (6 is the deprecated log message), status field 1 of SessionLog.
func TestSessionStartEncoding(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Now = func() time.Time { return time.Unix(2, 0) }
	start := buf.Len()
	if err := w.SessionStart(5); err != nil {
		t.Fatal(err)
	}
	data := []byte{0x09}
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(2))
	data = append(data, 0x10, 0x05, 0x3a, 0x02, 0x08, 0x01)
	if got := buf.Bytes()[start+12 : buf.Len()-4]; !bytes.Equal(got, data) {
		t.Fatalf("event data\n got % x\nwant % x", got, data)
	}
}

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(w.Path()), FilePrefix) {
		t.Errorf("file name %s", w.Path())
	}
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	steps := []int64{1, 2, 10}
	for _, s := range steps {
		if err := w.Scalars(s, Scalar{"train/reward", float64(s) / 4}, Scalar{"train/loss", math.Pi * float64(s)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Image(10, "eval/samples", img); err != nil {
		t.Fatal(err)
	}
	gray := image.NewGray(image.Rect(0, 0, 4, 5))
	if err := w.Image(10, "eval/gray", gray); err != nil {
		t.Fatal(err)
	}
	if err := w.SessionStart(11); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Scalars(12, Scalar{"x", 1}); err == nil {
		t.Error("a write after Close succeeded")
	}
	files, err := Files(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("Files = %v, %v", files, err)
	}
	evs, err := ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1+len(steps)+3 {
		t.Fatalf("%d events, want %d", len(evs), 1+len(steps)+3)
	}
	if evs[0].FileVersion != FileVersion || evs[0].WallTime < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("first event %+v", evs[0])
	}
	for i, s := range steps {
		ev := evs[1+i]
		if ev.Step != s || len(ev.Values) != 2 {
			t.Fatalf("event %d: %+v", i+1, ev)
		}
		want := []Scalar{{"train/reward", float64(s) / 4}, {"train/loss", math.Pi * float64(s)}}
		for j, v := range ev.Values {
			if v.Tag != want[j].Tag || !v.HasSimple || v.Simple != float32(want[j].Value) {
				t.Errorf("step %d value %d = %+v, want %+v", s, j, v, want[j])
			}
		}
	}
	im := evs[4]
	if im.Step != 10 || len(im.Values) != 1 || im.Values[0].Tag != "eval/samples" || im.Values[0].Image == nil {
		t.Fatalf("image event %+v", im)
	}
	x := im.Values[0].Image
	if x.Width != 3 || x.Height != 2 || x.Colorspace != 4 { // an RGBA image with alpha below 255: RGBA
		t.Errorf("image header %dx%d colorspace %d", x.Width, x.Height, x.Colorspace)
	}
	dec, err := png.Decode(bytes.NewReader(x.Encoded))
	if err != nil {
		t.Fatal(err)
	}
	for y := range 2 {
		for xx := range 3 {
			if got, want := color.RGBAModel.Convert(dec.At(xx, y)), img.At(xx, y); got != want {
				t.Errorf("pixel (%d,%d) = %v, want %v", xx, y, got, want)
			}
		}
	}
	if g := evs[5].Values[0].Image; g == nil || g.Width != 4 || g.Height != 5 || g.Colorspace != 1 {
		t.Errorf("gray image %+v", g)
	}
	if !evs[6].SessionStart || evs[6].Step != 11 || evs[6].Values != nil {
		t.Errorf("session event %+v", evs[6])
	}
}

// A damaged byte anywhere, or a cut record, is reported.
func TestDamage(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Scalars(1, Scalar{"r", 2}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	if evs, err := ReadEvents(bytes.NewReader(good)); err != nil || len(evs) != 2 {
		t.Fatalf("intact file: %d events, %v", len(evs), err)
	}
	first := len(AppendRecord(nil, mustRecords(t, good)[0]))
	for i := first; i < len(good); i++ {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x10
		if _, err := ReadRecords(bytes.NewReader(bad)); err == nil {
			t.Errorf("a flipped bit at byte %d passed", i)
		}
	}
	for cut := first + 1; cut < len(good); cut++ {
		recs, err := ReadRecords(bytes.NewReader(good[:cut]))
		if err == nil || len(recs) != 1 {
			t.Errorf("cut at %d: %d records, %v", cut, len(recs), err)
		}
	}
}

func mustRecords(t *testing.T, b []byte) [][]byte {
	t.Helper()
	recs, err := ReadRecords(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// Two writers in one directory make two files, read in the order made.
func TestCreateTwice(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		w, err := Create(dir)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	files, _ := Files(dir)
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	if _, err := os.Stat(files[0]); err != nil {
		t.Fatal(err)
	}
}
