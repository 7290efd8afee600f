package tasks

import (
	"fmt"
	"math"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/pretrain"
)

// The 2-D toy: a Gaussian mixture p_ref whose density is known in closed form,
// a small MLP flow trained on its samples (toy2d-mlp.ckpt), and rewards over
// points. The paper's Lemma 1 says that ORW without regularisation and with a
// perfect learner reaches, after N refreshes of the policy,
//
//	q_N(x) = exp(τ·N·r(x))·p_ref(x) / Z,
//
// which this file computes exactly: in closed form for the linear and the
// quadratic reward (the tilted mixture is again a Gaussian mixture), and for any
// reward by normalising on a grid. A batch of D-dim points is N images of 1×1
// pixel with D channels (orw.Images), so rewards over points are plain rewards.

// Mixture is an isotropic Gaussian mixture in the plane,
// p(x) = Σ_k π_k N(x; μ_k, σ_k² I).
type Mixture struct {
	Means [][2]float64
	// Sigmas are the components' standard deviations.
	Sigmas []float64
	// Weights π_k sum to one.
	Weights []float64
}

// ToyMixture is p_ref of the toy2d task: three components, at (−2, 0) "left",
// (2, 0) "right" and (0, 2) "top", σ = 0.5, weights 0.4, 0.3, 0.3.
var ToyMixture = Mixture{
	Means:   [][2]float64{{-2, 0}, {2, 0}, {0, 2}},
	Sigmas:  []float64{0.5, 0.5, 0.5},
	Weights: []float64{0.4, 0.3, 0.3},
}

// ToyComponentNames name ToyMixture's components (the toy judge's classes).
var ToyComponentNames = []string{"left", "right", "top"}

// Density is p(x, y).
func (m Mixture) Density(x, y float64) float64 {
	p := 0.0
	for k, mu := range m.Means {
		s2 := m.Sigmas[k] * m.Sigmas[k]
		d2 := (x-mu[0])*(x-mu[0]) + (y-mu[1])*(y-mu[1])
		p += m.Weights[k] * math.Exp(-d2/(2*s2)) / (2 * math.Pi * s2)
	}
	return p
}

// Mean is E[x] under the mixture.
func (m Mixture) Mean() [2]float64 {
	var s [2]float64
	for k, mu := range m.Means {
		s[0] += m.Weights[k] * mu[0]
		s[1] += m.Weights[k] * mu[1]
	}
	return s
}

// Sample draws n points, flattened (x0, y0, x1, y1, ...).
func (m Mixture) Sample(rng *orw.RNG, n int) []float32 {
	x := make([]float32, 2*n)
	for i := range n {
		u, k := rng.Float64(), 0
		for acc := m.Weights[0]; u > acc && k < len(m.Weights)-1; {
			k++
			acc += m.Weights[k]
		}
		for d := range 2 {
			x[2*i+d] = float32(m.Means[k][d] + m.Sigmas[k]*rng.NormFloat64())
		}
	}
	return x
}

// Nearest is the index of the component whose mean is closest to (x, y).
func (m Mixture) Nearest(x, y float64) int {
	best, bd := 0, math.Inf(1)
	for k, mu := range m.Means {
		if d := math.Hypot(x-mu[0], y-mu[1]); d < bd {
			best, bd = k, d
		}
	}
	return best
}

func (m Mixture) normalised(w []float64) []float64 {
	z := 0.0
	for _, v := range w {
		z += v
	}
	for k := range w {
		w[k] /= z
	}
	return w
}

// TiltLinear is the mixture times exp(c·x), normalised: again a mixture, with
// component k moved to μ_k + σ_k² c and reweighted by exp(c·μ_k + σ_k²‖c‖²/2).
func (m Mixture) TiltLinear(c [2]float64) Mixture {
	t := Mixture{Sigmas: append([]float64(nil), m.Sigmas...)}
	cc := c[0]*c[0] + c[1]*c[1]
	for k, mu := range m.Means {
		s2 := m.Sigmas[k] * m.Sigmas[k]
		t.Weights = append(t.Weights, m.Weights[k]*math.Exp(c[0]*mu[0]+c[1]*mu[1]+s2*cc/2))
		t.Means = append(t.Means, [2]float64{mu[0] + s2*c[0], mu[1] + s2*c[1]})
	}
	t.Weights = m.normalised(t.Weights)
	return t
}

// TiltQuadratic is the mixture times exp(−β‖x − c‖²), normalised: component k
// becomes N(μ'_k, σ'_k² I) with 1/σ'² = 1/σ² + 2β, μ' = σ'²(μ/σ² + 2βc), and is
// reweighted by (σ'/σ)² exp(−β‖μ − c‖²/(1 + 2βσ²)).
func (m Mixture) TiltQuadratic(beta float64, c [2]float64) Mixture {
	t := Mixture{}
	for k, mu := range m.Means {
		s2 := m.Sigmas[k] * m.Sigmas[k]
		p2 := 1 / (1/s2 + 2*beta)
		d2 := (mu[0]-c[0])*(mu[0]-c[0]) + (mu[1]-c[1])*(mu[1]-c[1])
		t.Sigmas = append(t.Sigmas, math.Sqrt(p2))
		t.Means = append(t.Means, [2]float64{p2 * (mu[0]/s2 + 2*beta*c[0]), p2 * (mu[1]/s2 + 2*beta*c[1])})
		t.Weights = append(t.Weights, m.Weights[k]*(p2/s2)*math.Exp(-beta*d2/(1+2*beta*s2)))
	}
	t.Weights = m.normalised(t.Weights)
	return t
}

// Grid is a regular lattice over a rectangle, Nx×Ny points including the edges.
type Grid struct {
	XMin, XMax, YMin, YMax float64
	Nx, Ny                 int
}

// ToyGrid is the lattice of the toy's pictures and exact densities.
var ToyGrid = Grid{XMin: -5, XMax: 5, YMin: -4, YMax: 6, Nx: 201, Ny: 201}

// At is the point of row i (y) and column j (x).
func (g Grid) At(i, j int) (x, y float64) {
	return g.XMin + float64(j)*(g.XMax-g.XMin)/float64(g.Nx-1), g.YMin + float64(i)*(g.YMax-g.YMin)/float64(g.Ny-1)
}

// CellArea is the area of one lattice cell.
func (g Grid) CellArea() float64 {
	return (g.XMax - g.XMin) / float64(g.Nx-1) * (g.YMax - g.YMin) / float64(g.Ny-1)
}

// Eval evaluates f on the lattice: [Ny][Nx], rows upward in y (vis.Density's layout).
func (g Grid) Eval(f func(x, y float64) float64) [][]float64 {
	out := make([][]float64, g.Ny)
	for i := range out {
		out[i] = make([]float64, g.Nx)
		for j := range out[i] {
			out[i][j] = f(g.At(i, j))
		}
	}
	return out
}

// Points returns the lattice as a batch of 2-D points (1×1 images with 2 channels).
func (g Grid) Points() *orw.Images {
	im := &orw.Images{N: g.Nx * g.Ny, H: 1, W: 1, C: 2, Pix: make([]float32, 2*g.Nx*g.Ny)}
	for i := range g.Ny {
		for j := range g.Nx {
			x, y := g.At(i, j)
			k := i*g.Nx + j
			im.Pix[2*k], im.Pix[2*k+1] = float32(x), float32(y)
		}
	}
	return im
}

// TiltedGrid is exp(β·r(x))·p(x)/Z on the lattice, for any reward over points,
// with Z the lattice sum times the cell area (so that the values integrate to one
// over the lattice). β = τ·N for N refreshes.
func TiltedGrid(p Mixture, r orw.Reward, beta float64, g Grid) ([][]float64, error) {
	rv, err := r.Reward(g.Points())
	if err != nil {
		return nil, err
	}
	if len(rv) != g.Nx*g.Ny {
		return nil, fmt.Errorf("tilted density: the reward returned %d values for %d points", len(rv), g.Nx*g.Ny)
	}
	logq := make([]float64, len(rv))
	hi := math.Inf(-1)
	for k := range rv {
		x, y := g.At(k/g.Nx, k%g.Nx)
		logq[k] = beta*rv[k] + math.Log(p.Density(x, y))
		hi = math.Max(hi, logq[k])
	}
	if math.IsInf(hi, 0) || math.IsNaN(hi) {
		return nil, fmt.Errorf("tilted density: no finite value on the grid")
	}
	out := make([][]float64, g.Ny)
	z := 0.0
	for i := range out {
		out[i] = make([]float64, g.Nx)
		for j := range out[i] {
			v := math.Exp(logq[i*g.Nx+j] - hi)
			out[i][j] = v
			z += v
		}
	}
	z *= g.CellArea()
	for i := range out {
		for j := range out[i] {
			out[i][j] /= z
		}
	}
	return out, nil
}

// Toy rewards over 2-D points.
var (
	// ToyLinear is r(x) = x₁, the first coordinate.
	ToyLinear = orw.RewardFunc(func(im *orw.Images) ([]float64, error) {
		return pointReward(im, func(x, _ float64) float64 { return x })
	})
	// ToyQuadratic is r(x) = −‖x − c‖², c = ToyQuadraticCenter.
	ToyQuadratic = orw.RewardFunc(func(im *orw.Images) ([]float64, error) {
		c := ToyQuadraticCenter
		return pointReward(im, func(x, y float64) float64 { return -((x-c[0])*(x-c[0]) + (y-c[1])*(y-c[1])) })
	})
	// ToyBox is r(x) = 1 inside ToyBoxRegion, 0 outside.
	ToyBox = orw.RewardFunc(func(im *orw.Images) ([]float64, error) {
		b := ToyBoxRegion
		return pointReward(im, func(x, y float64) float64 {
			if x >= b[0] && x <= b[1] && y >= b[2] && y <= b[3] {
				return 1
			}
			return 0
		})
	})
	// ToyQuadraticCenter is the centre c of ToyQuadratic: between the three modes.
	ToyQuadraticCenter = [2]float64{0, 0.5}
	// ToyBoxRegion is ToyBox's rectangle [x0, x1] × [y0, y1], around the top mode.
	ToyBoxRegion = [4]float64{-1, 1, 1, 3}
)

func pointReward(im *orw.Images, f func(x, y float64) float64) ([]float64, error) {
	if err := im.Validate(); err != nil {
		return nil, err
	}
	if im.H != 1 || im.W != 1 || im.C != 2 {
		return nil, fmt.Errorf("toy reward: needs 2-D points (1x1 images with 2 channels), got %dx%dx%d", im.H, im.W, im.C)
	}
	out := make([]float64, im.N)
	for i := range out {
		out[i] = f(float64(im.Pix[2*i]), float64(im.Pix[2*i+1]))
	}
	return out, nil
}

func registerToyRewards() {
	for _, d := range []struct {
		name, def string
		r         orw.Reward
	}{
		{"toy-linear", "r(x) = x₁, the first coordinate (exact tilt: a Gaussian mixture, closed form)", ToyLinear},
		{"toy-quadratic", "r(x) = −‖x − (0, 0.5)‖² (exact tilt: a Gaussian mixture, closed form)", ToyQuadratic},
		{"toy-box", "r(x) = 1 if x ∈ [−1, 1] × [1, 3] (around the top mode), else 0 (exact tilt normalised on the grid)", ToyBox},
	} {
		r := d.r
		RegisterReward(&RewardDef{Name: d.name, Definition: d.def, Data: []string{"toy2d"},
			New: func(*RewardEnv) (orw.Reward, error) { return r, nil }})
	}
}

// ToyJudge sorts points by their nearest mixture component.
type ToyJudge struct{ Mixture Mixture }

// ClassNames are the components' names.
func (j ToyJudge) ClassNames() []string {
	if len(j.Mixture.Means) == len(ToyComponentNames) {
		return ToyComponentNames
	}
	n := make([]string, len(j.Mixture.Means))
	for k := range n {
		n[k] = fmt.Sprint(k)
	}
	return n
}

// Classify returns the nearest component of every point.
func (j ToyJudge) Classify(im *orw.Images) ([]int, error) {
	if err := im.Validate(); err != nil {
		return nil, err
	}
	if im.H*im.W*im.C != 2 {
		return nil, fmt.Errorf("toy judge: needs 2-D points, got %dx%dx%d", im.H, im.W, im.C)
	}
	out := make([]int, im.N)
	for i := range out {
		out[i] = j.Mixture.Nearest(float64(im.Pix[2*i]), float64(im.Pix[2*i+1]))
	}
	return out, nil
}

// ToyDataset is n samples of the toy mixture, for pretraining.
func ToyDataset(n int, seed uint64) *pretrain.Dataset {
	return &pretrain.Dataset{X: ToyMixture.Sample(orw.NewRNG(seed), n), N: n, Shape: []int{2}}
}

// ToyComparison compares samples with an exact density on a lattice.
type ToyComparison struct {
	// Shares are the samples' fractions per nearest component; ExactShares the
	// exact density's masses of the same regions.
	Shares      []float64 `json:"shares"`
	ExactShares []float64 `json:"exact_shares"`
	// MaxShareError is max_k |Shares_k − ExactShares_k|.
	MaxShareError float64 `json:"max_share_error"`
	// Mean and ExactMean are the mean points.
	Mean      [2]float64 `json:"mean"`
	ExactMean [2]float64 `json:"exact_mean"`
	// TV is the total-variation distance between the samples' histogram and the
	// exact density on cells of 0.5×0.5 (samples outside the lattice count as
	// mismatched mass); with 4,000 exact samples it is about 0.05 from noise alone.
	TV float64 `json:"tv"`
}

// CompareToy compares points (flattened x, y pairs) with a density on g
// (TiltedGrid's layout), sorting by the nearest component of m.
func CompareToy(points []float32, density [][]float64, g Grid, m Mixture) ToyComparison {
	n := len(points) / 2
	k := len(m.Means)
	c := ToyComparison{Shares: make([]float64, k), ExactShares: make([]float64, k)}
	// Coarse cells of 0.5×0.5 for the histogram distance.
	const cell = 0.5
	cx := int(math.Ceil((g.XMax - g.XMin) / cell))
	cy := int(math.Ceil((g.YMax - g.YMin) / cell))
	exact := make([]float64, cx*cy)
	emp := make([]float64, cx*cy)
	cellOf := func(x, y float64) int {
		i, j := int((y-g.YMin)/cell), int((x-g.XMin)/cell)
		if x < g.XMin || y < g.YMin || i >= cy || j >= cx {
			return -1
		}
		return i*cx + j
	}
	da := g.CellArea()
	for i := range g.Ny {
		for j := range g.Nx {
			x, y := g.At(i, j)
			p := density[i][j] * da
			c.ExactShares[m.Nearest(x, y)] += p
			c.ExactMean[0] += p * x
			c.ExactMean[1] += p * y
			if q := cellOf(x, y); q >= 0 {
				exact[q] += p
			}
		}
	}
	outside := 0.0
	for i := range n {
		x, y := float64(points[2*i]), float64(points[2*i+1])
		c.Shares[m.Nearest(x, y)] += 1 / float64(n)
		c.Mean[0] += x / float64(n)
		c.Mean[1] += y / float64(n)
		if q := cellOf(x, y); q >= 0 {
			emp[q] += 1 / float64(n)
		} else {
			outside += 1 / float64(n)
		}
	}
	c.TV = outside
	for q := range exact {
		c.TV += math.Abs(exact[q] - emp[q])
	}
	c.TV /= 2
	for j := range c.Shares {
		c.MaxShareError = math.Max(c.MaxShareError, math.Abs(c.Shares[j]-c.ExactShares[j]))
	}
	return c
}

// ToyRefreshes is N, the number of completed policy refreshes after step steps
// with a refresh every k steps: the exponent of the tilt exp(τ·N·r).
func ToyRefreshes(step int64, k int) int64 {
	if k <= 0 {
		return 0
	}
	return step / int64(k)
}

// ExactToyDensity is the exact density exp(β·r)·p_ref/Z on ToyGrid for a point
// task's reward (the run's --reward or the task's), β = τ·N.
func ExactToyDensity(t *Task, opts Options, beta float64) ([][]float64, error) {
	if !t.Points {
		return nil, fmt.Errorf("task %s has no exact density: its samples are not 2-D points", t.Name)
	}
	r, err := NewReward(t.RewardSpecOf(opts), &RewardEnv{Data: t.Data, ImageShape: []int{1, 1, 2}})
	if err != nil {
		return nil, err
	}
	return TiltedGrid(ToyMixture, r, beta, ToyGrid)
}
