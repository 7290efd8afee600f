package orw

import (
	"fmt"
	"slices"
	"sort"

	"github.com/gomlx/gomlx/core/tensors"
)

// Samples is a batch of points x1 of the flow's space with their class labels
// (nil for an unconditional flow) and rewards: the online batch of Algorithm 1,
// and the fixed pool of the offline baselines.
type Samples struct {
	// X holds Len() points of Shape each, flattened.
	X     []float32
	Shape []int
	// Labels are the class labels the points were drawn with (nil: unconditional).
	Labels []int32
	// Rewards are r(x1), one per point.
	Rewards []float64
}

// Len is the number of points.
func (s *Samples) Len() int { return len(s.Rewards) }

// size is the number of values of one point.
func (s *Samples) size() int { return prod(s.Shape) }

// Validate checks that the points, labels and rewards agree in number.
func (s *Samples) Validate() error {
	n := s.Len()
	if len(s.X) != n*s.size() {
		return fmt.Errorf("samples: %d values for %d points of shape %v", len(s.X), n, s.Shape)
	}
	if s.Labels != nil && len(s.Labels) != n {
		return fmt.Errorf("samples: %d labels for %d points", len(s.Labels), n)
	}
	return nil
}

// Gather returns the points idx, in that order (an index may repeat).
func (s *Samples) Gather(idx []int) *Samples {
	size := s.size()
	out := &Samples{X: make([]float32, 0, len(idx)*size), Shape: slices.Clone(s.Shape), Rewards: make([]float64, 0, len(idx))}
	if s.Labels != nil {
		out.Labels = make([]int32, 0, len(idx))
	}
	for _, j := range idx {
		out.X = append(out.X, s.X[j*size:(j+1)*size]...)
		out.Rewards = append(out.Rewards, s.Rewards[j])
		if s.Labels != nil {
			out.Labels = append(out.Labels, s.Labels[j])
		}
	}
	return out
}

// Slice returns the points i0..i1-1; it shares their values with s.
func (s *Samples) Slice(i0, i1 int) *Samples {
	size := s.size()
	out := &Samples{X: s.X[i0*size : i1*size : i1*size], Shape: slices.Clone(s.Shape), Rewards: s.Rewards[i0:i1:i1]}
	if s.Labels != nil {
		out.Labels = s.Labels[i0:i1:i1]
	}
	return out
}

// Best returns the k points of highest reward, best first; ties keep their
// order. This selection defines RAFT (online) and ReFT (offline).
func (s *Samples) Best(k int) *Samples { return s.Gather(topIndices(s.Rewards, k)) }

// Tensor is X as a tensor [Len(), Shape...].
func (s *Samples) Tensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(s.X, append([]int{s.Len()}, s.Shape...)...)
}

// topIndices returns the indices of the k largest rewards, best first (ties by index).
func topIndices(r []float64, k int) []int {
	idx := make([]int, len(r))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return r[idx[a]] > r[idx[b]] })
	if k < len(idx) {
		idx = idx[:k]
	}
	return idx
}
