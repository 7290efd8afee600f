package nets

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// TestMLPBenchParams checks the parameter count of the "mlp" benchmark network
// (docs/benchmarks.md, "Workload mlp") exactly.
func TestMLPBenchParams(t *testing.T) {
	v, err := New(DefaultConfig("mlp", 28, 28, 1))
	if err != nil {
		t.Fatal(err)
	}
	if n := NumParams(v.Specs()); n != 3837712 {
		t.Fatalf("mlp has %d parameters, docs/benchmarks.md says 3,837,712", n)
	}
	// The latent flow of the shipped MNIST generator: 16-d codes, 3x512.
	v, err = New(Config{Kind: "mlp", Shape: []int{16}, Width: 512, Depth: 3, TimeDim: 128})
	if err != nil {
		t.Fatal(err)
	}
	want := (16+128)*512 + 512 + 2*(512*512+512) + 512*16 + 16
	if n := NumParams(v.Specs()); n != want {
		t.Fatalf("latent mlp has %d parameters, want %d", n, want)
	}
}

func TestNewErrors(t *testing.T) {
	for want, cfg := range map[string]Config{
		"unknown network kind": {Kind: "transformer", Shape: []int{4}},
		"no sample shape":      {Kind: "mlp"},
		"non-positive":         {Kind: "mlp", Shape: []int{0, 3}},
		"TimeDim":              {Kind: "mlp", Shape: []int{4}, TimeDim: 3},
		"NumClasses":           {Kind: "mlp", Shape: []int{4}, NumClasses: -1},
	} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: err = %v, want it to mention %q", cfg, err, want)
		}
	}
}

// TestMLPApplyShared checks that the shared-time evaluation equals Apply with
// the time broadcast, for an unconditional and a class-conditional network.
func TestMLPApplyShared(t *testing.T) {
	backend := backendForTest(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, classes := range []int{0, 10} {
		v, err := New(Config{Kind: "mlp", Shape: []int{16}, Width: 64, Depth: 2, TimeDim: 32, NumClasses: classes})
		if err != nil {
			t.Fatal(err)
		}
		sv := v.(SharedTimeVelocity)
		specs := v.Specs()
		n := len(specs)
		params := Init(specs, rng)
		const b, tt = 5, 0.35
		exec := MustNewExec(backend, func(in []*Node) []*Node {
			w := Bind(specs, in[:n])
			x, labels := in[n], in[n+1]
			if classes == 0 {
				labels = nil
			}
			ts := Scalar(x.Graph(), x.DType(), tt)
			return []*Node{v.Apply(w, BroadcastToDims(ts, b), x, labels), sv.ApplyShared(w, ts, x, labels)}
		})
		labels := tensors.FromFlatDataAndDimensions([]int32{0, 3, 9, 1, 1}, b)
		outs := exec.MustCall(append(anySlice(params.Tensors), randTensor(rng, 1, b, 16), labels)...)
		want, got := Float32s(outs[0]), Float32s(outs[1])
		for i := range want {
			if math.Abs(float64(want[i]-got[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("classes=%d: ApplyShared[%d] = %g, Apply = %g", classes, i, got[i], want[i])
			}
		}
	}
}
