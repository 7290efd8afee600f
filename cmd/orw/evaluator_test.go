package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/metrics"
)

// orw finetune prints an evaluator's numbers one group a line, and its
// --json summary carries them under "evaluator"; without an evaluator it
// prints nothing more.
func TestPrintEvaluator(t *testing.T) {
	r, gap := 0.61, 0.29
	ev := &orw.EvaluatorRecord{Reward: &r, HackingGap: &gap, Precision: 0.875, Recall: 0.25, Density: 1.5, Coverage: 0.375, Vendi: 4.25,
		Neighbours: 5, Image: metrics.ImageStats{Brightness: 0.125, DarkFraction: 0.75, EdgeDensity: 0.0625, PixelEntropy: 0.5}}
	var buf bytes.Buffer
	printEvaluator(&buf, ev)
	const want = `evaluator's reward (its classifier never trained against): 0.6100 (hacking gap: the reward minus it, 0.2900)
against the real test images (k=5): precision 0.875, recall 0.250, density 1.500, coverage 0.375
Vendi score (effective number of distinct samples): 4.25
pixels: brightness 0.125, dark fraction 0.750, edge density 0.062, pixel entropy 0.500
`
	if buf.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	printEvaluator(&buf, nil)
	if buf.Len() != 0 {
		t.Errorf("printed %q without an evaluator", buf.String())
	}
	b, err := json.Marshal(FinetuneSummary{Outcome: experiment.Outcome{Evaluator: ev}})
	if err != nil || !strings.Contains(string(b), `"evaluator":{"reward":0.61,"hacking_gap":0.29,`) {
		t.Errorf("summary JSON %s, %v", b, err)
	}
}
