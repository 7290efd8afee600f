package datasets

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// cifarPattern is the value of channel c of pixel (y, x) of image n in the
// CIFAR-10 test batches built below.
func cifarPattern(n, y, x, c int) byte { return byte(n*53 + y*11 + x*5 + c*97) }

// cifarRecords builds CIFAR-10 records by hand in the planar layout of the
// official files: label, then the red, green and blue planes.
func cifarRecords(first int, labels []int) []byte {
	var b []byte
	for k, l := range labels {
		b = append(b, byte(l))
		for c := range 3 {
			for y := range 32 {
				for x := range 32 {
					b = append(b, cifarPattern(first+k, y, x, c))
				}
			}
		}
	}
	return b
}

// checkCIFARPixels checks that imgs holds the pattern, channels last,
// starting with image number first.
func checkCIFARPixels(t *testing.T, imgs *Images, first int) {
	t.Helper()
	if imgs.H != 32 || imgs.W != 32 || imgs.C != 3 || len(imgs.Pix) != imgs.N*3072 {
		t.Fatalf("shape %d×%d×%d×%d with %d bytes", imgs.N, imgs.H, imgs.W, imgs.C, len(imgs.Pix))
	}
	for n := range imgs.N {
		px := imgs.At(n)
		for y := range 32 {
			for x := range 32 {
				for c := range 3 {
					if got, want := px[(y*32+x)*3+c], cifarPattern(first+n, y, x, c); got != want {
						t.Fatalf("image %d pixel (%d,%d) channel %d = %d, want %d", n, y, x, c, got, want)
					}
				}
			}
		}
	}
}

func TestCIFAR10Decode(t *testing.T) {
	labels := []int{3, 0, 9}
	data := cifarRecords(0, labels)
	imgs, got, err := DecodeCIFAR10(iotest.HalfReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	if imgs.N != 3 || !slices.Equal(got, labels) {
		t.Fatalf("N=%d labels %v", imgs.N, got)
	}
	checkCIFARPixels(t, imgs, 0)

	// Writing the decoded images gives back the planar bytes.
	var buf bytes.Buffer
	if err := WriteCIFAR10Batch(&buf, imgs, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Error("WriteCIFAR10Batch does not reproduce the planar records")
	}
}

func TestCIFAR10Corruption(t *testing.T) {
	valid := cifarRecords(0, []int{1, 2})
	bad := slices.Clone(valid)
	bad[CIFAR10RecordSize] = 10
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"label only", valid[:1], "size 1 bytes is not a multiple of the 3073-byte"},
		{"truncated", valid[:len(valid)-1], "size 6145 bytes is not a multiple"},
		{"trailing", append(slices.Clone(valid), 0), "size 6147 bytes"},
		{"label 10", bad, "record 1 has label 10"},
	}
	for _, c := range cases {
		imgs, labels, err := DecodeCIFAR10(bytes.NewReader(c.data))
		if err == nil || imgs != nil || labels != nil {
			t.Errorf("%s: got %v, %v, %v", c.name, imgs, labels, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}

	dir := t.TempDir()
	for _, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".bin")
		writeFile(t, p, c.data, false)
		_, _, err := ReadCIFAR10Batch(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("file %s: error %v does not name the file", c.name, err)
		}
	}
}

func TestWriteCIFAR10BatchErrors(t *testing.T) {
	var buf bytes.Buffer
	ok := patternImages(2, 32, 32, 3)
	for name, c := range map[string]struct {
		imgs   *Images
		labels []int
	}{
		"nil":       {nil, nil},
		"gray":      {patternImages(1, 32, 32, 1), []int{0}},
		"28x28":     {patternImages(1, 28, 28, 3), []int{0}},
		"few":       {ok, []int{1}},
		"label 10":  {ok, []int{1, 10}},
		"label -1":  {ok, []int{-1, 0}},
		"short pix": {&Images{N: 2, H: 32, W: 32, C: 3, Pix: ok.Pix[:100]}, []int{0, 0}},
	} {
		if err := WriteCIFAR10Batch(&buf, c.imgs, c.labels); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("failed writes left %d bytes", buf.Len())
	}
}

func TestLoadCIFAR10(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cifar-10-batches-bin")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var allLabels []int
	for b := range 5 {
		labels := []int{b, (b + 3) % 10}
		if b == 2 {
			labels = append(labels, 9) // batches need not have equal sizes
		}
		writeFile(t, filepath.Join(dir, "data_batch_"+string(rune('1'+b))+".bin"), cifarRecords(len(allLabels), labels), false)
		allLabels = append(allLabels, labels...)
	}
	writeFile(t, filepath.Join(dir, "test_batch.bin"), cifarRecords(100, []int{7, 8, 6, 5}), false)

	// Both the folder itself and its parent work.
	for _, d := range []string{dir, root} {
		s, err := LoadCIFAR10(d, Train)
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() != 11 || !slices.Equal(s.Labels, allLabels) || s.NumClasses != 10 || s.ClassNames[0] != "airplane" || s.ClassNames[9] != "truck" || s.Name != "cifar10" {
			t.Fatalf("train from %s: N=%d labels %v classes %d %v", d, s.Len(), s.Labels, s.NumClasses, s.ClassNames)
		}
		checkCIFARPixels(t, s.Images, 0)
	}
	t.Setenv("ORW_CIFAR10_DIR", root)
	s, err := LoadCIFAR10("", Test)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Labels, []int{7, 8, 6, 5}) {
		t.Errorf("test labels %v", s.Labels)
	}
	checkCIFARPixels(t, s.Images, 100)

	// A missing batch is reported by name.
	os.Remove(filepath.Join(dir, "data_batch_3.bin"))
	if _, err := LoadCIFAR10(root, Train); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "data_batch_3.bin") {
		t.Errorf("missing batch: %v", err)
	}
	// A wrong size is reported before reading.
	writeFile(t, filepath.Join(dir, "data_batch_3.bin"), make([]byte, 5000), false)
	if _, err := LoadCIFAR10(root, Train); err == nil || !strings.Contains(err.Error(), "data_batch_3.bin: size 5000 bytes") {
		t.Errorf("bad batch size: %v", err)
	}
	// Nothing there at all.
	if _, err := LoadCIFAR10(t.TempDir(), Test); err == nil || !strings.Contains(err.Error(), "test_batch.bin not found") {
		t.Errorf("empty directory: %v", err)
	}
	t.Setenv("ORW_CIFAR10_DIR", "")
	if _, err := LoadCIFAR10("", Test); err == nil || !strings.Contains(err.Error(), "ORW_CIFAR10_DIR") {
		t.Errorf("no directory: %v", err)
	}
}
