package runplot

import (
	"bytes"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/vis"
)

// TestTrainingWith checks that the labels replace Training's and that the
// curves are Training's.
func TestTrainingWith(t *testing.T) {
	h := fakeRun("run", 3, 0.1, 50, 0)
	plain, err := Training(W2, h)
	if err != nil {
		t.Fatal(err)
	}
	l := TrainingLabels{Title: "W2 divergence from the reference", YLabel: "E‖v_ft − v_ref‖²", Batch: "training batch (smoothed)", Eval: "evaluation estimate"}
	p, err := TrainingWith(W2, h, l)
	if err != nil {
		t.Fatal(err)
	}
	if p.Title.Text != l.Title || p.Y.Label.Text != l.YLabel || plain.Title.Text == l.Title {
		t.Errorf("titles %q / %q, Training's %q", p.Title.Text, p.Y.Label.Text, plain.Title.Text)
	}
	if p.Y.Scale == nil || p.Y.Min != plain.Y.Min || p.Y.Max != plain.Y.Max || p.X.Max != plain.X.Max {
		t.Errorf("axes differ from Training's: y %v..%v vs %v..%v", p.Y.Min, p.Y.Max, plain.Y.Min, plain.Y.Max)
	}
	// Partial labels keep the rest of Training's.
	p, err = TrainingWith(Reward, h, TrainingLabels{Title: "Reward"})
	if err != nil || p.Title.Text != "Reward" || p.Y.Label.Text != Reward.Label {
		t.Errorf("partial labels: %v, %q, %q", err, p.Title.Text, p.Y.Label.Text)
	}
	// Metrics recorded only at evaluations are Curves, relabelled.
	p, err = TrainingWith(EmpiricalW2, h, TrainingLabels{Title: "empirical"})
	if err != nil || p.Title.Text != "empirical" {
		t.Errorf("EmpiricalW2: %v, %q", err, p.Title.Text)
	}
}

func TestBatchGrid(t *testing.T) {
	im := digits(6)
	g, err := BatchGrid(im, 3, vis.GridOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tiles := vis.ImagesFromBatch(im.Pix, im.N, im.H, im.W, im.C, -1, 1)
	want := vis.Grid(tiles, 3, vis.GridOptions{})
	if g.Bounds() != want.Bounds() || !bytes.Equal(g.Pix, want.Pix) {
		t.Errorf("BatchGrid %v differs from vis.Grid %v", g.Bounds(), want.Bounds())
	}
	im.Pix = im.Pix[:10]
	if _, err := BatchGrid(im, 3, vis.GridOptions{}); err == nil {
		t.Error("a batch with too few pixels gave no error")
	}
}
