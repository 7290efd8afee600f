package orw_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/ckpt"
	"github.com/orwcfm/orwcfm/pkg/orw/internal/orwtest"
	"github.com/orwcfm/orwcfm/pkg/orw/nets"
	"github.com/orwcfm/orwcfm/pkg/orw/ode"
)

func TestGeneratorSaveLoad(t *testing.T) {
	be := orwtest.Backend(t)
	g := orwtest.TinyLatentGenerator(t)
	path := filepath.Join(t.TempDir(), "g.ckpt")
	if err := orw.SaveGenerator(path, g); err != nil {
		t.Fatal(err)
	}
	h, err := orw.LoadGenerator(path)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Latent() || !slices.Equal(h.ImageShape(), []int{8, 8, 1}) || h.Meta["note"] != "test" {
		t.Fatalf("loaded generator: latent %v, image shape %v, meta %v", h.Latent(), h.ImageShape(), h.Meta)
	}
	noise := orw.SampleNoise(orw.NewRNG(9).Rand, 5*4)
	_, a, err := g.Sample(be, orw.DefaultConfig().Sampler, nil, noise, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := h.Sample(be, orw.DefaultConfig().Sampler, nil, noise, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Pix, b.Pix) || a.N != 5 || a.H != 8 || a.C != 1 {
		t.Fatal("samples of the loaded generator differ from the original's")
	}
	for _, v := range a.Pix {
		if v < -1 || v > 1 {
			t.Fatalf("sample value %g outside [-1, 1]", v)
		}
	}
}

// TestGeneratorMismatch checks that a checkpoint whose tensors do not fit its
// declared networks is refused with the names of the offending tensors.
func TestGeneratorMismatch(t *testing.T) {
	g := orwtest.TinyLatentGenerator(t)
	other, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{4}, Width: 8, Depth: 2, TimeDim: 8})
	if err != nil {
		t.Fatal(err)
	}
	g.Flow = other // weights are still those of width 16
	path := filepath.Join(t.TempDir(), "g.ckpt")
	if err := orw.SaveGenerator(path, g); err != nil {
		t.Fatal(err)
	}
	_, err = orw.LoadGenerator(path)
	if err == nil || !strings.Contains(err.Error(), "hidden0/w") || !strings.Contains(err.Error(), "g.ckpt") {
		t.Fatalf("err = %v", err)
	}
	// A checkpoint of another kind is refused too.
	p2 := filepath.Join(t.TempDir(), "x.ckpt")
	if err := ckpt.Write(p2, "classifier", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := orw.LoadGenerator(p2); err == nil || !strings.Contains(err.Error(), "not a generator") {
		t.Fatalf("err = %v", err)
	}
}

func TestSampleValidation(t *testing.T) {
	be := orwtest.Backend(t)
	g := orwtest.TinyLatentGenerator(t)
	if _, _, err := g.Sample(be, orw.DefaultConfig().Sampler, nil, make([]float32, 7), 2, nil); err == nil {
		t.Error("wrong noise length accepted")
	}
	if _, _, err := g.Sample(be, orw.SamplerConfig{Solver: ode.Solver(7), Steps: 5}, nil, make([]float32, 8), 2, nil); err == nil || !strings.Contains(err.Error(), "euler") {
		t.Errorf("unknown solver: %v", err)
	}
	if _, _, err := g.Sample(be, orw.SamplerConfig{Solver: ode.Euler, Steps: 0}, nil, make([]float32, 8), 2, nil); err == nil {
		t.Error("zero steps accepted")
	}
}
