package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Progress is what a progress display shows of a loop.
type Progress struct {
	// Step is the step count, First the count Run started at, Total the goal.
	Step, First, Total int64
	// Remaining is the estimated time left, negative while it is unknown
	// (Loop.Remaining).
	Elapsed, Remaining time.Duration
	// Status is a short summary of the last record ("reward 0.61").
	Status string
}

// Display shows progress: the terminal bar of this package, or a notebook's
// bar. Finish is called once, when the loop ends.
type Display interface {
	Update(p Progress)
	Finish(p Progress)
}

// AttachProgress attaches d to l as hooks named "progress" (see
// AttachProgressAs).
func AttachProgress[R any](l *Loop[R], d Display, every int64, status func(R) string) {
	AttachProgressAs(l, "progress", d, every, status)
}

// AttachProgressAs attaches d to l as a step and an end hook named name
// (PriorityDisplay): it is updated every `every` steps (and at the end)
// with status(rec) as its status line; status may be nil. At the end the
// status is asked again for the last record, after the end hooks that run
// before the display's (a final evaluation), so that it can show them.
func AttachProgressAs[R any](l *Loop[R], name string, d Display, every int64, status func(R) string) {
	var last string
	var lastRec R
	seen := false
	progress := func(l *Loop[R]) Progress {
		return Progress{Step: l.Step(), First: l.First(), Total: l.Total, Elapsed: l.Elapsed(), Remaining: l.Remaining(), Status: last}
	}
	l.OnStep(name, 1, PriorityDisplay, func(l *Loop[R], rec R) error {
		lastRec, seen = rec, true
		if l.Step()%max(every, 1) != 0 {
			return nil
		}
		if status != nil {
			last = status(rec)
		}
		d.Update(progress(l))
		return nil
	})
	l.OnEnd(name, PriorityDisplay, func(l *Loop[R], _ error) error {
		if status != nil && seen {
			last = status(lastRec)
		}
		d.Finish(progress(l))
		return nil
	})
}

// TextBar is a progress bar for a terminal: one line redrawn in place, or, when
// the output is not a terminal (CI logs), a plain line at most every 5 seconds.
type TextBar struct {
	w     io.Writer
	label string
	tty   bool
	last  time.Time
}

// NewTextBar returns a bar labelled label on standard error.
func NewTextBar(label string) *TextBar {
	st, err := os.Stderr.Stat()
	tty := err == nil && st.Mode()&os.ModeCharDevice != 0
	return &TextBar{w: os.Stderr, label: label, tty: tty}
}

// NewTextBarTo returns a bar writing to w; tty chooses in-place redrawing.
func NewTextBarTo(w io.Writer, label string, tty bool) *TextBar {
	return &TextBar{w: w, label: label, tty: tty}
}

// Update draws step/total, a bar, the status, the speed and the time left
// ("time left –" while the loop cannot estimate it yet).
func (b *TextBar) Update(p Progress) { b.draw(p, false) }

// Finish draws the final line.
func (b *TextBar) Finish(p Progress) { b.draw(p, true) }

func (b *TextBar) draw(p Progress, final bool) {
	if !final && !b.tty && time.Since(b.last) < 5*time.Second && p.Step < p.Total {
		return
	}
	b.last = time.Now()
	const width = 24
	frac := float64(p.Step) / float64(max(p.Total, 1))
	n := min(max(int(frac*width), 0), width)
	bar := strings.Repeat("█", n) + strings.Repeat("░", width-n)
	rate := float64(p.Step-p.First) / max(p.Elapsed.Seconds(), 1e-9)
	line := fmt.Sprintf("%s %s %d/%d %s %.1f steps/s, %s elapsed, time left %s", b.label, bar, p.Step, p.Total, p.Status, rate,
		p.Elapsed.Round(time.Second), TimeLeft(p.Remaining))
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		if final {
			fmt.Fprintln(b.w)
		}
	} else {
		fmt.Fprintln(b.w, line)
	}
}

// TimeLeft writes an estimate of the time left to the second, or "–" when
// it is unknown (negative: Loop.Remaining).
func TimeLeft(d time.Duration) string {
	if d < 0 {
		return "–"
	}
	return d.Round(time.Second).String()
}
