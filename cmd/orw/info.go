package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/orwcfm/orwcfm/pkg/orw/backends"
)

func init() {
	register(command{name: "info", summary: "print the backend, SIMD, Go version and cores", run: runInfo})
}

func runInfo(_ context.Context, args []string) error {
	fs := newFlags("info", "print the backend, whether SIMD and XLA are compiled in, the Go version and the core count")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	in, err := backends.GetInfo()
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if e := enc.Encode(in); e != nil {
			return e
		}
		return err
	}
	simd := "no (rebuild with GOEXPERIMENT=simd for ~20x faster matrix products)"
	if in.SIMD {
		simd = "yes"
	}
	fmt.Printf("backend:     %s\n", in.Backend)
	if in.BackendDesc != "" {
		fmt.Printf("             %s\n", in.BackendDesc)
	}
	fmt.Printf("simd:        %s\n", simd)
	fmt.Printf("XLA:         %s\n", backends.XLAStatus())
	fmt.Printf("go:          %s %s/%s\n", in.GoVersion, in.GOOS, in.GOARCH)
	fmt.Printf("cores:       %d (GOMAXPROCS %d)\n", in.NumCPU, in.GOMAXPROCS)
	if in.Module != "" {
		fmt.Printf("orwcfm:      %s\n", in.Module)
	}
	return err
}
