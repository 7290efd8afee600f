package tasks

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

func TestTargetRewardClosedForm(t *testing.T) {
	target := &orw.Images{N: 1, H: 1, W: 2, C: 1, Pix: []float32{1, -1}}
	r := TargetReward{Target: target}
	got, err := r.Reward(&orw.Images{N: 3, H: 1, W: 2, C: 1, Pix: []float32{1, -1, -1, 1, 0, 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	// 0 for the target itself, −4 for its negative, −(1 + 2.25)/2 for (0, 0.5).
	want := []float64{0, -4, -1.625}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("image %d: %g, want %g", i, got[i], want[i])
		}
	}
	if _, err := r.Reward(&orw.Images{N: 1, H: 2, W: 1, C: 1, Pix: []float32{0, 0}}); err == nil {
		t.Error("a 2x1 image was scored against a 1x2 target")
	}
}

func writePNG(t *testing.T, img image.Image) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func TestLoadTarget(t *testing.T) {
	shape := []int{28, 28, 1}
	byIndex, err := LoadTarget("0", "mnist", "", shape)
	if err != nil {
		t.Fatal(err)
	}
	// The same digit written as a PNG loads to the same values.
	g := image.NewGray(image.Rect(0, 0, 28, 28))
	for i, v := range byIndex.Pix {
		g.Pix[i] = uint8(math.Round((float64(v) + 1) * 127.5))
	}
	byFile, err := LoadTarget(writePNG(t, g), "mnist", "", shape)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(byIndex.Pix, byFile.Pix) {
		t.Error("the PNG of test image 0 loads to other values than the index")
	}
	r, _ := TargetReward{Target: byIndex}.Reward(byFile)
	if r[0] != 0 {
		t.Errorf("the target scores %g against itself", r[0])
	}
	// RGB: a red 32x32 PNG.
	rgb := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	for i := 0; i < len(rgb.Pix); i += 4 {
		rgb.Pix[i], rgb.Pix[i+3] = 255, 255
	}
	red, err := LoadTarget(writePNG(t, rgb), "cifar10", "", []int{32, 32, 3})
	if err != nil {
		t.Fatal(err)
	}
	if red.Pix[0] != 1 || red.Pix[1] != -1 || red.Pix[2] != -1 || red.Pix[3*32*32-3] != 1 {
		t.Errorf("red loads as %v", red.Pix[:3])
	}
	for _, tc := range []struct{ spec, want string }{
		{"10000", "outside the mnist test split (0..9999)"},
		{"/nonexistent.png", "neither a test-split index nor a readable PNG"},
		{writePNG(t, image.NewGray(image.Rect(0, 0, 5, 5))), "is 5x5 pixels, the generator's images 28x28"},
	} {
		if _, err := LoadTarget(tc.spec, "mnist", "", shape); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.spec, err, tc.want)
		}
	}
}
