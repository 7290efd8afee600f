// Package parallel runs independent pieces of work side by side: the one
// helper behind every chunked parallel loop of the project (the sampling and
// scoring chunks of pkg/orw, the classifier's and the JPEG reward's chunks of
// pkg/tasks, the runs of an experiment grid).
//
// Each piece writes its results by its own index, so what it computes
// depends only on its inputs, never on how many pieces ran at once or in
// which order they finished.
package parallel

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// For calls f(i) for every i in [0, n), on up to workers goroutines at once
// (at most n; with one worker or fewer, in order on the caller's goroutine),
// and returns the error of the lowest index that failed, or nil. A panic in
// f(i) is i's error.
//
// Once a call has failed no new call starts; the calls under way finish.
// Indices are handed out in increasing order, so every index below the one
// that failed was called: the error returned is the same as if every call had
// been made (when the calls do not depend on each other).
func For(n, workers int, f func(i int) error) error {
	workers = min(workers, n)
	errs := make([]error, n)
	run := func(i int) {
		defer func() {
			if p := recover(); p != nil {
				errs[i] = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		errs[i] = f(i)
	}
	if workers <= 1 {
		for i := range n {
			if run(i); errs[i] != nil {
				return errs[i]
			}
		}
		return nil
	}
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if run(i); errs[i] != nil {
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
