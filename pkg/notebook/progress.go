package notebook

import (
	"fmt"
	"html"
	"strings"
	"sync"
	"time"

	"github.com/orwcfm/orwcfm/pkg/orw/train"
)

// Intervals between the updates of a progress bar: redrawing a notebook
// output is cheap, a line of text is not.
const (
	NotebookUpdateEvery = 200 * time.Millisecond
	TextUpdateEvery     = 10 * time.Second
)

// Progress is a progress bar. In a notebook it is one HTML output that is
// updated in place (at most every NotebookUpdateEvery); elsewhere it prints
// a line at most every TextUpdateEvery, and one when it finishes. It is a
// train.Display: train.AttachProgress(loop, bar, 1, status) updates it
// after every step of a training loop and finishes it when the loop ends.
type Progress struct {
	d          *Display
	id         string
	title      string
	from, to   int64
	start      time.Time
	mu         sync.Mutex
	last       time.Time
	done       int64
	status     string
	finished   bool
	everShown  bool
	lastPrintN int64
	// warmAt is when the first unit of work after from was done, warmDone
	// the count then: the time left is estimated from the speed since, as
	// the first unit (a step that compiles its graphs) can be much slower.
	warmAt   time.Time
	warmDone int64
	// fromLoop is set once a training loop updates the bar: remaining is
	// then its estimate (train.Loop.Remaining; negative while unknown).
	fromLoop  bool
	remaining time.Duration
}

// NewProgress starts a progress bar titled title for work that goes from
// from to total (for example the steps of a run that resumes at step from).
func NewProgress(title string, from, total int64) *Progress {
	return Default().NewProgress(title, from, total)
}

// NewProgress starts a progress bar on d (see the function NewProgress).
func (d *Display) NewProgress(title string, from, total int64) *Progress {
	p := &Progress{d: d, id: uniqueID("progress"), title: title, from: from, to: total, done: from, start: d.now()}
	p.show(true)
	return p
}

// Set sets the work done and a short status ("reward 0.61").
func (p *Progress) Set(done int64, status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.set(done, status)
}

// set is Set with p.mu held.
func (p *Progress) set(done int64, status string) {
	if p.finished {
		return
	}
	p.done, p.status = done, status
	p.show(false)
}

// Done shows the final state with status and closes the bar: later calls
// of Set, Update and Finish are ignored. Called after a loop finished the
// bar, Done replaces its status when it differs (an outcome the loop does
// not know, such as an interrupt) and shows the bar once more.
func (p *Progress) Done(status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished && (status == "" || status == p.status) {
		return
	}
	p.finished = true
	if status != "" {
		p.status = status
	}
	p.show(true)
}

// Update shows a training loop's progress: its step, status and the loop's
// estimate of the time left (none while the loop has none). With Finish it
// makes the bar a train.Display, which train.AttachProgress attaches to a
// loop.
func (p *Progress) Update(tp train.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fromLoop, p.remaining = true, tp.Remaining
	p.set(tp.Step, tp.Status)
}

// Finish shows a training loop's final progress and closes the bar (see
// Done).
func (p *Progress) Finish(tp train.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	p.done = tp.Step
	if tp.Status != "" {
		p.status = tp.Status
	}
	p.show(true)
}

var _ train.Display = (*Progress)(nil)

// ID is the display id of the bar's notebook output.
func (p *Progress) ID() string { return p.id }

// show draws the bar if force is set or enough time has passed.
func (p *Progress) show(force bool) {
	now := p.d.now()
	if p.warmAt.IsZero() && p.done > p.from {
		p.warmAt, p.warmDone = now, p.done
	}
	every := TextUpdateEvery
	if p.d.Notebook {
		every = NotebookUpdateEvery
	}
	if !force && p.everShown && now.Sub(p.last) < every {
		return
	}
	p.last, p.everShown = now, true
	line := p.line(now)
	if p.d.Notebook {
		p.d.publish(map[string]any{"text/html": p.html(line), "text/plain": line}, p.id)
		return
	}
	if !p.finished && p.done == p.lastPrintN && p.done != p.from {
		return
	}
	p.lastPrintN = p.done
	fmt.Fprintln(p.d.text(), line)
}

// line is the text of the bar: "title: 40/100 (40%) · status · 3.9/s · 15 s left".
func (p *Progress) line(now time.Time) string {
	var b strings.Builder
	if p.title != "" {
		b.WriteString(p.title + ": ")
	}
	fmt.Fprintf(&b, "%d/%d", p.done, p.to)
	if p.to > 0 {
		fmt.Fprintf(&b, " (%d%%)", int(100*float64(p.done)/float64(p.to)))
	}
	if p.status != "" {
		b.WriteString(" · " + p.status)
	}
	elapsed := now.Sub(p.start)
	if n := p.done - p.from; n > 0 && elapsed > 0 {
		rate := float64(n) / elapsed.Seconds()
		fmt.Fprintf(&b, " · %.3g/s", rate)
		if p.finished {
			fmt.Fprintf(&b, " · %s", roundDuration(elapsed))
		} else if left, ok := p.timeLeft(now); ok {
			fmt.Fprintf(&b, " · %s left", roundDuration(left))
		}
	}
	return b.String()
}

// timeLeft is the loop's estimate of the time left when a loop updates the
// bar, else the work left at the speed measured since the first unit of work
// was done; ok is false while there is none.
func (p *Progress) timeLeft(now time.Time) (left time.Duration, ok bool) {
	if p.fromLoop {
		return p.remaining, p.remaining > 0
	}
	n, since := p.done-p.warmDone, now.Sub(p.warmAt)
	if p.warmAt.IsZero() || n <= 0 || since <= 0 || p.to <= p.done {
		return 0, false
	}
	return time.Duration(float64(p.to-p.done) / float64(n) * float64(since)), true
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d < time.Hour:
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}

// html draws the bar as a <progress> element followed by the line.
func (p *Progress) html(line string) string {
	max := p.to - p.from
	val := p.done - p.from
	if max <= 0 {
		max, val = 1, 1
	}
	return fmt.Sprintf(`<div style="font-family: monospace; margin: 2px 0"><progress value="%d" max="%d" style="width: 14em; vertical-align: middle"></progress> %s</div>`,
		val, max, html.EscapeString(line))
}
