package parallel_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/internal/parallel"
)

// TestForVisitsEveryIndexOnce checks that every index is called exactly once,
// for any number of workers, including none and more than the indices.
func TestForVisitsEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100} {
		for _, workers := range []int{0, 1, 2, 4, 200} {
			counts := make([]atomic.Int32, n)
			if err := parallel.For(n, workers, func(i int) error {
				counts[i].Add(1)
				return nil
			}); err != nil {
				t.Fatalf("n=%d workers=%d: %v", n, workers, err)
			}
			for i := range counts {
				if c := counts[i].Load(); c != 1 {
					t.Errorf("n=%d workers=%d: index %d called %d times", n, workers, i, c)
				}
			}
		}
	}
}

// TestForRunsSideBySide checks that with several workers the calls overlap:
// two calls wait for each other, which only ends if both run at once.
func TestForRunsSideBySide(t *testing.T) {
	var both sync.WaitGroup
	both.Add(2)
	if err := parallel.For(2, 2, func(int) error {
		both.Done()
		both.Wait()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestForResultsByIndex checks that results written by index are those of a
// plain loop, whatever the number of workers.
func TestForResultsByIndex(t *testing.T) {
	const n = 257
	want := make([]float64, n)
	for i := range want {
		want[i] = float64(i*i) / 3
	}
	for _, workers := range []int{1, 3, 8} {
		got := make([]float64, n)
		if err := parallel.For(n, workers, func(i int) error {
			got[i] = float64(i*i) / 3
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("workers=%d: result %d is %v, want %v", workers, i, got[i], want[i])
			}
		}
	}
}

// TestForErrors checks that the error of the lowest failing index is
// returned (the same as a plain loop's first error), that a panic becomes its
// index's error, and that no call starts after a failure in the sequential
// case.
func TestForErrors(t *testing.T) {
	const n = 64
	fails := map[int]bool{9: true, 30: true, 31: true}
	for _, workers := range []int{1, 2, 4} {
		var calls atomic.Int32
		err := parallel.For(n, workers, func(i int) error {
			calls.Add(1)
			if fails[i] {
				return fmt.Errorf("index %d failed", i)
			}
			return nil
		})
		if err == nil || err.Error() != "index 9 failed" {
			t.Errorf("workers=%d: error %v, want that of index 9", workers, err)
		}
		if workers == 1 && calls.Load() != 10 {
			t.Errorf("one worker: %d calls, want 10 (none after the failure)", calls.Load())
		}
		if c := calls.Load(); c < 10 {
			t.Errorf("workers=%d: %d calls; want at least every index up to the failure", workers, c)
		}
	}
	sentinel := errors.New("sentinel")
	err := parallel.For(8, 4, func(i int) error {
		switch i {
		case 3:
			panic("boom")
		case 5:
			return sentinel
		}
		return nil
	})
	if err == nil || !strings.HasPrefix(err.Error(), "panic: boom") {
		t.Errorf("a panic at index 3 gave %v, want a panic error", err)
	}
	err = parallel.For(8, 4, func(i int) error {
		if i == 5 {
			return fmt.Errorf("wrapped: %w", sentinel)
		}
		return nil
	})
	if !errors.Is(err, sentinel) {
		t.Errorf("got %v, want the wrapped sentinel", err)
	}
}
