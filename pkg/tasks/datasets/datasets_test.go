package datasets

import (
	"slices"
	"strings"
	"testing"
)

// patternImages returns n images of h×w×c whose bytes are a fixed,
// position-dependent pattern, so that any misplaced byte shows.
func patternImages(n, h, w, c int) *Images {
	m := &Images{N: n, H: h, W: w, C: c, Pix: make([]uint8, n*h*w*c)}
	for i := range m.Pix {
		m.Pix[i] = byte(i*37 + i/251)
	}
	return m
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func TestImagesMethods(t *testing.T) {
	m := &Images{N: 3, H: 1, W: 2, C: 2, Pix: []uint8{
		0, 255, 51, 204,
		1, 2, 3, 4,
		10, 20, 30, 40,
	}}
	if m.Len() != 3 {
		t.Errorf("Len = %d, want 3", m.Len())
	}
	if got := m.At(1); !slices.Equal(got, []uint8{1, 2, 3, 4}) {
		t.Errorf("At(1) = %v", got)
	}
	if got := m.At(2); cap(got) != 4 {
		t.Errorf("At(2) has capacity %d, want 4 (must not expose the following image)", cap(got))
	}
	f := m.Float32(0, 1)
	want := []float32{-1, 1, 51/127.5 - 1, 204/127.5 - 1}
	if !slices.Equal(f, want) {
		t.Errorf("Float32(0,1) = %v, want %v", f, want)
	}
	if f[2] > -0.59 || f[2] < -0.61 {
		t.Errorf("51 maps to %v, want -0.6", f[2])
	}
	if got := m.Float32(1, 3); len(got) != 8 || got[0] != 1/127.5-1 || got[7] != 40/127.5-1 {
		t.Errorf("Float32(1,3) = %v", got)
	}
	if got := m.Float32(2, 2); len(got) != 0 {
		t.Errorf("Float32(2,2) has %d values, want 0", len(got))
	}
	s := m.Subset([]int{2, 0, 2})
	if s.N != 3 || s.H != 1 || s.W != 2 || s.C != 2 {
		t.Fatalf("Subset shape %d×%d×%d×%d", s.N, s.H, s.W, s.C)
	}
	if !slices.Equal(s.Pix, []uint8{10, 20, 30, 40, 0, 255, 51, 204, 10, 20, 30, 40}) {
		t.Errorf("Subset pixels %v", s.Pix)
	}
	s.Pix[0] = 99
	if m.Pix[8] != 10 {
		t.Error("Subset shares storage with its source")
	}
	mustPanic(t, "At(3)", func() { m.At(3) })
	mustPanic(t, "At(-1)", func() { m.At(-1) })
	mustPanic(t, "Float32(2,4)", func() { m.Float32(2, 4) })
	mustPanic(t, "Float32(2,1)", func() { m.Float32(2, 1) })
	mustPanic(t, "Subset([5])", func() { m.Subset([]int{5}) })
}

func TestSetSubset(t *testing.T) {
	set := &Set{Name: "x", Images: patternImages(4, 2, 2, 1), Labels: []int{3, 1, 4, 1}, NumClasses: 5}
	sub := set.Subset([]int{3, 2})
	if sub.Len() != 2 || !slices.Equal(sub.Labels, []int{1, 4}) || sub.NumClasses != 5 || sub.Name != "x" {
		t.Errorf("Subset = %+v", sub)
	}
	if !slices.Equal(sub.Images.At(0), set.Images.At(3)) || !slices.Equal(sub.Images.At(1), set.Images.At(2)) {
		t.Error("Subset images do not match")
	}
	unl := &Set{Images: patternImages(2, 1, 1, 1)}
	if got := unl.Subset([]int{1}); got.Labels != nil {
		t.Errorf("Subset of an unlabelled set has labels %v", got.Labels)
	}
}

func TestSplit(t *testing.T) {
	if Train.String() != "train" || Test.String() != "test" || Split(7).String() != "Split(7)" {
		t.Errorf("Split names: %v %v %v", Train, Test, Split(7))
	}
	_, err := LoadIDXDir(t.TempDir(), Split(7), "x")
	if err == nil || !strings.Contains(err.Error(), "invalid split") {
		t.Errorf("LoadIDXDir with a bad split: %v", err)
	}
	_, err = LoadCIFAR10(t.TempDir(), Split(-1))
	if err == nil || !strings.Contains(err.Error(), "invalid split") {
		t.Errorf("LoadCIFAR10 with a bad split: %v", err)
	}
}
