package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// TestPretrainUNetPaper selects the paper's CIFAR-10 U-Net by name and trains it for two
// steps on tiny CIFAR-10 files written here: the checkpoint holds the 35,746,307
// parameters of the named configuration (pkg/orw/nets, TestUNetPaperParamCount).
func TestPretrainUNetPaper(t *testing.T) {
	data := t.TempDir()
	for i, name := range []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"} {
		imgs := &datasets.Images{N: 2, H: 32, W: 32, C: 3, Pix: make([]uint8, 2*32*32*3)}
		for j := range imgs.Pix {
			imgs.Pix[j] = uint8(j*(i+3) + j/101)
		}
		f, err := os.Create(filepath.Join(data, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := datasets.WriteCIFAR10Batch(f, imgs, []int{i % 10, (i + 1) % 10}); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ckpt := filepath.Join(t.TempDir(), "cifar10-unet-paper.ckpt")
	code, out, errOut := runOrw(t, "pretrain", "--task", "cifar10", "--data", data, "--model", "unet-paper", "--steps", "2", "--batch", "2", "--out", ckpt)
	if code != 0 || !strings.Contains(out, "wrote "+ckpt+" (unet-paper flow, 35746307 parameters)") {
		t.Fatalf("pretrain: exit %d: %s %s", code, out, errOut)
	}

	// On 28x28 MNIST the network cannot halve the image three times: a clear error.
	code, _, errOut = runOrw(t, "pretrain", "--task", "mnist", "--model", "unet-paper", "--steps", "1", "--out", filepath.Join(t.TempDir(), "x.ckpt"))
	if code != 1 || !strings.Contains(errOut, "divisible by 8, got 28x28") || !strings.Contains(errOut, "CIFAR-10") {
		t.Fatalf("unet-paper on MNIST: exit %d, stderr %q; want exit 1 naming the image size", code, errOut)
	}
}
