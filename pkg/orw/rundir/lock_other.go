//go:build !unix

package rundir

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir creates dir/.lock exclusively. On systems without flock a lock left by a
// killed process must be removed by hand; the error says so.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run %s is in use (or a crashed process left %s: delete it if no process uses the run)", dir, path)
	}
	return f, nil
}

func unlockDir(f *os.File) error {
	if f == nil {
		return nil
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
