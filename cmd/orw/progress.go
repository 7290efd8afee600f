package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/orwcfm/orwcfm/pkg/orw"
)

// progressBar draws a one-line progress bar on a terminal (or plain lines when
// the output is not a terminal, e.g. in CI logs).
type progressBar struct {
	w     io.Writer
	label string
	tty   bool
	last  time.Time
}

func newProgressBar(label string) *progressBar {
	st, err := os.Stderr.Stat()
	tty := err == nil && st.Mode()&os.ModeCharDevice != 0
	return &progressBar{w: os.Stderr, label: label, tty: tty}
}

// update prints step/steps, a bar, the given metrics, speed and time left.
func (p *progressBar) update(step, steps int64, elapsed, remaining time.Duration, metrics string) {
	if !p.tty && time.Since(p.last) < 5*time.Second && step < steps {
		return
	}
	p.last = time.Now()
	const width = 24
	frac := float64(step) / float64(max(steps, 1))
	n := int(frac * width)
	bar := strings.Repeat("█", n) + strings.Repeat("░", width-n)
	rate := float64(step) / max(elapsed.Seconds(), 1e-9)
	line := fmt.Sprintf("%s %s %d/%d %s %.1f steps/s, %s elapsed, %s left", p.label, bar, step, steps, metrics, rate,
		elapsed.Round(time.Second), remaining.Round(time.Second))
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		if step >= steps {
			fmt.Fprintln(p.w)
		}
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// fitProgress adapts the bar to orw.Fit's reports.
func (p *progressBar) fitProgress(pr orw.Progress) {
	p.update(pr.Step, pr.Steps, pr.Elapsed, pr.Remaining, fmt.Sprintf("loss %.4f", pr.Loss))
}
