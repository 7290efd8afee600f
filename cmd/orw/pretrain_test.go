package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/orw/optim"
	"github.com/orwcfm/orwcfm/pkg/tasks"
)

// TestShippedUNetIsTheDocumentedOne checks that the shipped pixel-space MNIST
// U-Net is what docs/models.md says it is: made by `orw pretrain --model unet`
// with its defaults (pixelDefaults' batch and learning rate, pixelOptim's
// optimiser, OT coupling) for the number of steps that the docs' command gives.
func TestShippedUNetIsTheDocumentedOne(t *testing.T) {
	g, err := tasks.ShippedGenerator("mnist", "unet")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		FlowSteps int64        `json:"flow_steps"`
		Batch     int          `json:"batch"`
		Optim     optim.Config `json:"optim"`
		Coupling  string       `json:"coupling"`
	}
	b, err := json.Marshal(g.Meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatalf("the shipped U-Net's meta: %v", err)
	}
	want := pixelDefaults["unet"]
	if meta.Batch != want.Batch {
		t.Errorf("shipped U-Net: batch %d; orw pretrain --model unet trains with %d", meta.Batch, want.Batch)
	}
	wantOptim := pixelOptim("unet")
	wantOptim.LR = want.LR
	if meta.Optim != wantOptim {
		t.Errorf("shipped U-Net's optimiser %+v; orw pretrain --model unet uses %+v", meta.Optim, wantOptim)
	}
	if meta.Coupling != "ot" {
		t.Errorf("shipped U-Net's coupling %q; the default is ot", meta.Coupling)
	}
	docs, err := os.ReadFile("../../docs/models.md")
	if err != nil {
		t.Fatal(err)
	}
	cmd := fmt.Sprintf("`orw pretrain --task mnist --model unet --steps %d --out pkg/tasks/models/weights/mnist-unet.ckpt`", meta.FlowSteps)
	if meta.FlowSteps <= 0 || !strings.Contains(string(docs), cmd) {
		t.Errorf("the shipped U-Net was trained for %d steps; docs/models.md does not give its command %s", meta.FlowSteps, cmd)
	}
}
