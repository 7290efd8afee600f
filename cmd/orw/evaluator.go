package main

import (
	"fmt"
	"io"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// printEvaluator prints what a task's independent evaluator said about the
// evaluation samples, one line a group; nothing when ev is nil. orw finetune
// prints it after the Fréchet distance (orw eval can, once its report
// carries an evaluator record).
func printEvaluator(w io.Writer, ev *orw.EvaluatorRecord) {
	if ev == nil {
		return
	}
	if ev.Reward != nil {
		gap := ""
		if ev.HackingGap != nil {
			gap = fmt.Sprintf(" (hacking gap: the reward minus it, %.4f)", *ev.HackingGap)
		}
		fmt.Fprintf(w, "evaluator's reward (its classifier never trained against): %.4f%s\n", *ev.Reward, gap)
	}
	fmt.Fprintf(w, "against the real test images (k=%d): precision %.3f, recall %.3f, density %.3f, coverage %.3f\n",
		ev.Neighbours, ev.Precision, ev.Recall, ev.Density, ev.Coverage)
	fmt.Fprintf(w, "Vendi score (effective number of distinct samples): %.2f\n", ev.Vendi)
	im := ev.Image
	fmt.Fprintf(w, "pixels: brightness %.3f, dark fraction %.3f, edge density %.3f, pixel entropy %.3f\n",
		im.Brightness, im.DarkFraction, im.EdgeDensity, im.PixelEntropy)
}
