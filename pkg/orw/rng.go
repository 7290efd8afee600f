package orw

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
)

// RNG is the seeded random number generator of a run: every random draw (noise,
// times, minibatches) comes from it, and its state is saved in checkpoints so that a
// resumed run continues exactly where it stopped.
type RNG struct {
	*rand.Rand
	src *rand.PCG
}

// NewRNG returns a generator seeded with seed (and a fixed stream constant).
func NewRNG(seed uint64) *RNG {
	src := rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	return &RNG{Rand: rand.New(src), src: src}
}

// State encodes the generator's state as text.
func (r *RNG) State() string {
	b, err := r.src.MarshalBinary()
	if err != nil {
		panic(err) // PCG's MarshalBinary cannot fail.
	}
	return base64.StdEncoding.EncodeToString(b)
}

// SetState restores a state produced by State.
func (r *RNG) SetState(s string) error {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("random state: %w", err)
	}
	if err := r.src.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("random state: %w", err)
	}
	return nil
}
