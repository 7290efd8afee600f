package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
	"github.com/orwcfm/orwcfm/pkg/orw/pretrain"
	"github.com/orwcfm/orwcfm/pkg/tasks"
	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
	"github.com/orwcfm/orwcfm/pkg/vis"
)

// backend starts the compute backend or explains why it cannot.
func backend() (compute.Backend, error) { return backends.Default() }

// printJSON writes v as one indented JSON object on stdout.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// dataName maps a --task value of the pretraining commands to a data set name.
func dataName(task string) (string, error) {
	switch task {
	case "mnist", "fashion", "cifar10":
		return task, nil
	case "fashion-mnist":
		return "fashion", nil
	}
	return "", suggest.Unknown("--task", task, []string{"mnist", "fashion", "cifar10"}).
		WithNote("this command's --task is a data set; fashion-mnist is fashion")
}

// loadData loads a data set split as a flow-space data set.
func loadData(name, dir string, split datasets.Split) (*pretrain.Dataset, *datasets.Set, error) {
	set, err := tasks.LoadData(name, dir, split)
	if err != nil {
		return nil, nil, err
	}
	return tasks.DatasetFromSet(set), set, nil
}

// writeImages writes a batch as a PNG grid, or as raw idx (unsigned bytes) when
// the name ends in .idx.
func writeImages(path string, imgs *orw.Images, cols int, captions []string) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".idx":
		if imgs.C != 1 {
			return fmt.Errorf("the idx format holds gray images; these have %d channels (write a .png instead)", imgs.C)
		}
		raw := &datasets.Images{N: imgs.N, H: imgs.H, W: imgs.W, C: 1, Pix: make([]uint8, len(imgs.Pix))}
		for i, v := range imgs.Pix {
			raw.Pix[i] = uint8(min(max((float64(v)+1)*127.5+0.5, 0), 255))
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := datasets.WriteIDXImages(f, raw); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case ".png":
		tiles := vis.ImagesFromBatch(imgs.Pix, imgs.N, imgs.H, imgs.W, imgs.C, -1, 1)
		return vis.SavePNG(path, vis.Grid(tiles, cols, vis.GridOptions{Captions: captions}))
	}
	return fmt.Errorf("cannot write %s: use a .png (grid) or .idx (raw images) file name", path)
}
