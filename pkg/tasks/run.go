package tasks

import (
	"fmt"

	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/rundir"
)

// RunGenerator returns the fine-tuned generator of a run directory: its base model
// with the weights of the run's last checkpoint.
func RunGenerator(dir string) (*orw.Generator, error) {
	info, err := rundir.ReadRunInfo(dir)
	if err != nil {
		return nil, err
	}
	data, model := info.Meta["data"], info.Meta["model"]
	if data == "" {
		return nil, fmt.Errorf("run %s does not record its data set (config.json meta.data)", dir)
	}
	base, err := ShippedGenerator(data, model)
	if err != nil {
		return nil, fmt.Errorf("run %s: base model: %w", dir, err)
	}
	params, _, err := rundir.LatestParams(dir, base.Flow)
	if err != nil {
		return nil, err
	}
	g := base.WithParams(params)
	g.Sampler = info.Config.Sampler
	return g, nil
}

// RunMetaWith is what a run directory of task t made with opts records of
// them (config.json, "meta"): the metadata that OpenOrCreateRunWith compares
// when it reopens a run. opts must be resolved (Task.Resolve).
func RunMetaWith(t *Task, opts Options) map[string]string { return opts.meta(t) }
