package golden

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	a := image.NewRGBA(image.Rect(0, 0, 10, 10))
	b := image.NewRGBA(image.Rect(0, 0, 10, 10))
	b.SetRGBA(3, 4, color.RGBA{R: Tolerance, A: 0})
	if msg := Diff(a, b, Tolerance); msg != "" {
		t.Errorf("difference within tolerance reported: %s", msg)
	}
	b.SetRGBA(3, 4, color.RGBA{R: Tolerance + 1, A: Tolerance + 1})
	if msg := Diff(a, b, Tolerance); !strings.Contains(msg, "1 pixels differ by more than 8; first: pixel (3,4)") {
		t.Errorf("difference beyond tolerance reported as %q", msg)
	}
	if msg := Diff(a, image.NewRGBA(image.Rect(0, 0, 10, 11)), Tolerance); msg != "size (10,10), want (10,11)" {
		t.Errorf("difference in size reported as %q", msg)
	}
	// Images are compared relative to their bounds.
	c := image.NewRGBA(image.Rect(5, 5, 15, 15))
	c.SetRGBA(8, 9, color.RGBA{R: 200, A: 255})
	if msg := Diff(c, a, 0); !strings.Contains(msg, "pixel (3,4)") {
		t.Errorf("offset image: %q", msg)
	}
}

// TestCheckRegen writes a golden file with RegenEnv set, then checks the same
// image (passes) against it, in a scratch directory.
func TestCheckRegen(t *testing.T) {
	t.Chdir(t.TempDir())
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	img.Pix[4] = 100
	t.Setenv(RegenEnv, "1")
	CheckImage(t, "tiny", img, 0)
	if _, err := os.Stat(filepath.Join("testdata", "tiny_golden.png")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(RegenEnv, "0")
	if Regen() {
		t.Fatal("Regen with the variable set to 0")
	}
	CheckImage(t, "tiny", img, 0)
}

// recorder is a testing.TB that records Errorf instead of failing.
type recorder struct {
	testing.TB
	dir    string
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) ArtifactDir() string { return r.dir }

// TestCheckMismatch checks that a difference fails the test and leaves the
// produced image in the artifact directory.
func TestCheckMismatch(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv(RegenEnv, "")
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	if err := os.Mkdir("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(Path("x"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	img.Pix[1] = Tolerance + 1
	r := &recorder{TB: t, dir: t.TempDir()}
	CheckImage(r, "x", img, Tolerance)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "1 pixels differ by more than 8") {
		t.Errorf("errors %q, want one difference", r.errors)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "x.png")); err != nil {
		t.Errorf("the produced image was not kept: %v", err)
	}
	r.errors = nil
	CheckImage(r, "x", img, Tolerance+1)
	if len(r.errors) != 0 {
		t.Errorf("a difference within tol reported: %q", r.errors)
	}
}
