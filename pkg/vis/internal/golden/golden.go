// Package golden compares the images that tests draw with reference
// ("golden") PNG files kept under the test package's testdata/, and rewrites
// those files on request. It is the one implementation of golden images for
// the tests of pkg/vis and its sub-packages.
//
// A test draws an image and calls
//
//	golden.CheckImage(t, "dashboard", img, golden.Tolerance)
//
// which compares it with testdata/dashboard_golden.png (relative to the
// package directory, where go test runs). A missing file or a difference
// beyond the tolerance fails the test, and the produced image is written to
// the test's artifact directory (kept with go test -artifacts) for a look.
//
// After an intended change of a picture, rewrite the golden files with
//
//	go test ./pkg/vis/... -regen        (the packages that use this one)
//	ORW_REGEN_GOLDEN=1 go test ./...    (any set of packages)
//
// and review the new PNGs before committing them. The -regen flag is defined
// in every test binary that imports this package; the environment variable
// also works for go test runs over packages that do not (where -regen would be
// an unknown flag).
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// Tolerance is the default largest difference allowed in any colour channel
// (0-255) of any pixel between a produced image and its golden file. It
// absorbs the last-bit differences in anti-aliasing that floating point on
// other platforms may cause, while any change of text, marks or colours,
// which moves channels by far more, still fails.
const Tolerance = 8

// RegenEnv is the environment variable that, set to a non-empty value other
// than "0", rewrites the golden files like -regen.
const RegenEnv = "ORW_REGEN_GOLDEN"

var regen = flag.Bool("regen", false, "rewrite the golden images under testdata/ with the ones the tests produce")

// Regen reports whether the tests rewrite their golden files instead of
// comparing with them (-regen, or RegenEnv set).
func Regen() bool {
	if *regen {
		return true
	}
	v := os.Getenv(RegenEnv)
	return v != "" && v != "0"
}

// Path is the golden file of name: testdata/NAME_golden.png.
func Path(name string) string { return filepath.Join("testdata", name+"_golden.png") }

// CheckImage encodes img as PNG and checks it with CheckPNG.
func CheckImage(t testing.TB, name string, img image.Image, tol int) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatalf("encoding %s: %v", name, err)
	}
	CheckPNG(t, name, buf.Bytes(), tol)
}

// CheckPNG compares the PNG encoding got with the golden file Path(name): the
// sizes must be equal and no colour channel of any pixel may differ by more
// than tol. When Regen is set it writes got to that file instead (creating
// testdata/ if needed). On a difference the test fails (without stopping) and
// got is written to the test's artifact directory as NAME.png.
func CheckPNG(t testing.TB, name string, got []byte, tol int) {
	t.Helper()
	path := Path(name)
	if Regen() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden image: %v (run go test -regen, or with %s=1, to create it)", err, RegenEnv)
	}
	gi, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("decoding produced image %s: %v", name, err)
	}
	wi, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	if msg := Diff(gi, wi, tol); msg != "" {
		out := filepath.Join(t.ArtifactDir(), name+".png")
		if err := os.WriteFile(out, got, 0o644); err != nil {
			t.Log(err)
		}
		t.Errorf("%s: %s; produced image written to %s (keep it with go test -artifacts; rewrite the golden file with -regen)", path, msg, out)
	}
}

// Diff returns "" when got and want have the same size and no colour channel
// (compared as non-premultiplied 8-bit RGBA) differs by more than tol, and
// otherwise a description: the size mismatch, or the number of pixels beyond
// tol and the first of them (coordinates relative to the images' bounds).
func Diff(got, want image.Image, tol int) string {
	gb, wb := got.Bounds(), want.Bounds()
	if gb.Size() != wb.Size() {
		return fmt.Sprintf("size %v, want %v", gb.Size(), wb.Size())
	}
	var bad int
	var first string
	for y := 0; y < gb.Dy(); y++ {
		for x := 0; x < gb.Dx(); x++ {
			c1 := color.NRGBAModel.Convert(got.At(gb.Min.X+x, gb.Min.Y+y)).(color.NRGBA)
			c2 := color.NRGBAModel.Convert(want.At(wb.Min.X+x, wb.Min.Y+y)).(color.NRGBA)
			d := max(absDiff(c1.R, c2.R), absDiff(c1.G, c2.G), absDiff(c1.B, c2.B), absDiff(c1.A, c2.A))
			if d > tol {
				if bad == 0 {
					first = fmt.Sprintf("pixel (%d,%d) is %v, want %v", x, y, c1, c2)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		return fmt.Sprintf("%d pixels differ by more than %d; first: %s", bad, tol, first)
	}
	return ""
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
