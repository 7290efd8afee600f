package orw

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw/nets"
)

// tinyLatentGenerator builds an untrained latent generator on 8x8 gray images.
func tinyLatentGenerator(t testing.TB) *Generator {
	t.Helper()
	ae, err := nets.NewAutoencoder(nets.AutoencoderConfig{Shape: []int{8, 8, 1}, Latent: 4, Channels: []int{4}})
	if err != nil {
		t.Fatal(err)
	}
	flow, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{4}, Width: 16, Depth: 2, TimeDim: 8})
	if err != nil {
		t.Fatal(err)
	}
	aeParams := nets.Init(append(ae.EncoderSpecs(), ae.DecoderSpecs()...), NewRNG(1).Rand)
	g, err := NewLatentGenerator(ae, aeParams, []float32{0, 1, 0, -1}, []float32{1, 2, 0.5, 1}, flow, nets.Init(flow.Specs(), NewRNG(2).Rand), DefaultSampler())
	if err != nil {
		t.Fatal(err)
	}
	g.Meta = map[string]any{"note": "test"}
	return g
}

func TestGeneratorSaveLoad(t *testing.T) {
	be := testBackend(t)
	g := tinyLatentGenerator(t)
	path := filepath.Join(t.TempDir(), "g.ckpt")
	if err := SaveGenerator(path, g); err != nil {
		t.Fatal(err)
	}
	h, err := LoadGenerator(path)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Latent() || !slices.Equal(h.ImageShape(), []int{8, 8, 1}) || h.Meta["note"] != "test" {
		t.Fatalf("loaded generator: latent %v, image shape %v, meta %v", h.Latent(), h.ImageShape(), h.Meta)
	}
	noise := SampleNoise(NewRNG(9).Rand, 5*4)
	_, a, err := g.Sample(be, DefaultSampler(), nil, noise, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := h.Sample(be, DefaultSampler(), nil, noise, 5, nil)
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
	g := tinyLatentGenerator(t)
	other, err := nets.New(nets.Config{Kind: "mlp", Shape: []int{4}, Width: 8, Depth: 2, TimeDim: 8})
	if err != nil {
		t.Fatal(err)
	}
	g.Flow = other // weights are still those of width 16
	path := filepath.Join(t.TempDir(), "g.ckpt")
	if err := SaveGenerator(path, g); err != nil {
		t.Fatal(err)
	}
	_, err = LoadGenerator(path)
	if err == nil || !strings.Contains(err.Error(), "hidden0/w") || !strings.Contains(err.Error(), "g.ckpt") {
		t.Fatalf("err = %v", err)
	}
	// A checkpoint of another kind is refused too.
	p2 := filepath.Join(t.TempDir(), "x.ckpt")
	if err := WriteCheckpoint(p2, "classifier", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadGenerator(p2); err == nil || !strings.Contains(err.Error(), "not a generator") {
		t.Fatalf("err = %v", err)
	}
}

func TestSampleValidation(t *testing.T) {
	be := testBackend(t)
	g := tinyLatentGenerator(t)
	if _, _, err := g.Sample(be, DefaultSampler(), nil, make([]float32, 7), 2, nil); err == nil {
		t.Error("wrong noise length accepted")
	}
	if _, _, err := g.Sample(be, SamplerConfig{Solver: "heun", Steps: 5}, nil, make([]float32, 8), 2, nil); err == nil || !strings.Contains(err.Error(), "euler") {
		t.Errorf("unknown solver: %v", err)
	}
	if _, _, err := g.Sample(be, SamplerConfig{Solver: "euler", Steps: 0}, nil, make([]float32, 8), 2, nil); err == nil {
		t.Error("zero steps accepted")
	}
}
