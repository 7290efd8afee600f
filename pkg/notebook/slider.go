package notebook

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/janpfeifer/gonb/gonbui/dom"
	"github.com/janpfeifer/gonb/gonbui/widgets"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"gonum.org/v1/plot/vg"
)

// EnvNoWidgets, set to anything but "", "0", "false" or "no", makes Slider
// draw its picture without a slider. The notebook test sets it: it runs
// the notebooks through nbconvert, where no browser runs the slider's
// script, and GoNB's slider waits for the browser's first value before it
// returns.
const EnvNoWidgets = "ORW_NO_WIDGETS"

// Slider redraws a picture as the reader moves a slider (a GoNB widget):
// a cell that needs no training, such as the exact tilted density for a
// chosen β or the weights for a chosen τ. Show it with Show.
type Slider struct {
	// Label names the value ("β = τN").
	Label string
	// Min, Max and Step are the slider's range and step; Value is where it
	// starts.
	Min, Max, Step, Value float64
	// Draw returns the picture for a value: anything Show draws as a
	// picture (a plot, an image, a Row of them).
	Draw func(v float64) (any, error)
	// W and H are the size of a plot in inches (6 × 4 when zero).
	W, H float64
	// Idle is how long the slider waits for a move before it stops and
	// frees the kernel (5 minutes when zero); its Done button stops it at
	// once. Either way the last picture stays in the notebook.
	Idle time.Duration
}

// positions is the number of steps from Min to Max; at is the value at
// position i of 0…positions().
func (s Slider) positions() int { return int(math.Round((s.Max - s.Min) / s.Step)) }

func (s Slider) at(i int) float64 {
	v := s.Min + float64(i)*s.Step
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64) // 0.3, not 0.30000000000000004
	return r
}

func (s Slider) check() error {
	switch {
	case s.Draw == nil:
		return errors.New("notebook: Slider: no Draw function")
	case !(s.Step > 0) || !(s.Max > s.Min) || math.IsInf(s.Max-s.Min, 0):
		return fmt.Errorf("notebook: Slider %q: range [%g, %g] with step %g: want Min < Max and Step > 0", s.Label, s.Min, s.Max, s.Step)
	case s.positions() > 10000:
		return fmt.Errorf("notebook: Slider %q: %d positions; use a larger Step", s.Label, s.positions())
	case s.Value < s.Min || s.Value > s.Max:
		return fmt.Errorf("notebook: Slider %q: start value %g outside [%g, %g]", s.Label, s.Value, s.Min, s.Max)
	}
	return nil
}

func (s Slider) opts() options {
	o := options{w: 6 * vg.Inch, h: 4 * vg.Inch}
	if s.W > 0 && s.H > 0 {
		o.w, o.h, o.sized = vg.Length(s.W)*vg.Inch, vg.Length(s.H)*vg.Inch, true
	}
	return o
}

// draw renders the picture for value v as PNG bytes.
func (s Slider) draw(v float64) ([]byte, error) {
	x, err := s.Draw(v)
	if err != nil {
		return nil, fmt.Errorf("notebook: Slider %q at %g: %w", s.Label, v, err)
	}
	img, err := picture(x, s.opts())
	if err != nil {
		return nil, fmt.Errorf("notebook: Slider %q at %g: %w", s.Label, v, err)
	}
	return encodePNG(img)
}

// noWidgets reports whether EnvNoWidgets is set.
func noWidgets() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(EnvNoWidgets))) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// Show shows the slider and its picture, and redraws the picture at every
// move until the slider has been still for Idle or its Done button is
// pressed; the cell is busy until then. Without a browser (outside a
// notebook, or with EnvNoWidgets set, as in the notebook test) it draws the
// picture at Min, Value and Max instead, so that every drawing path runs,
// shows the one at Value and says so.
func (s Slider) Show() error {
	d := Default()
	defer d.sync()
	return d.showSlider(s)
}

func (d *Display) showSlider(s Slider) error {
	if err := s.check(); err != nil {
		return err
	}
	start := int(math.Round((s.Value - s.Min) / s.Step))
	if !d.Notebook || noWidgets() {
		return d.staticSlider(s, start, fmt.Sprintf("without a browser (%s is set, or this is not a notebook)", EnvNoWidgets))
	}
	div := dom.CreateTransientDiv()
	valueID := uniqueID("slider-value")
	ready := make(chan *widgets.SliderBuilder, 1)
	go func() { ready <- widgets.Slider(0, s.positions(), start).AppendTo(div).Done() }()
	var slider *widgets.SliderBuilder
	select {
	case slider = <-ready:
	case <-time.After(20 * time.Second):
		return d.staticSlider(s, start, "because the slider did not reach the kernel within 20 s (GoNB's widgets need the notebook open in a browser; try the %widgets magic)")
	}
	dom.Append(div, fmt.Sprintf(`&nbsp;<span id="%s" style="font-family: monospace">%s</span>&nbsp;`, valueID, s.valueText(start)))
	done := widgets.Button("Done").AppendTo(div).Done()
	picID := uniqueID("slider")
	show := func(i int) error {
		b, err := s.draw(s.at(i))
		if err != nil {
			return err
		}
		dom.SetInnerText(valueID, s.valueText(i))
		d.publish(map[string]any{"image/png": b, "text/plain": s.valueText(i)}, picID)
		return nil
	}
	if err := show(start); err != nil {
		return err
	}
	moves := slider.Listen().LatestOnly()
	defer moves.Close()
	clicks := done.Listen()
	defer clicks.Close()
	idle := s.Idle
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	last := start
	for {
		select {
		case i := <-moves.C:
			last = i
			if err := show(i); err != nil {
				return err
			}
		case <-clicks.C:
			return d.Show(Markdown(fmt.Sprintf("*Slider stopped at %s: run the cell again to move it.*", s.valueText(last))))
		case <-time.After(idle):
			return d.Show(Markdown(fmt.Sprintf("*Slider stopped at %s after %s without a move: run the cell again to move it.*", s.valueText(last), idle)))
		}
	}
}

// valueText is "Label = value" at position i.
func (s Slider) valueText(i int) string {
	return fmt.Sprintf("%s = %s", s.Label, strings.TrimSpace(fmt.Sprintf("%8.4g", s.at(i))))
}

// staticSlider draws the pictures at Min, the start and Max, and shows the
// one at the start with a line saying why there is no slider.
func (d *Display) staticSlider(s Slider, start int, why string) error {
	var shown []byte
	for _, i := range []int{0, start, s.positions()} {
		b, err := s.draw(s.at(i))
		if err != nil {
			return err
		}
		if i == start {
			shown = b
		}
	}
	note := fmt.Sprintf("*A slider on %s redraws this picture when the notebook runs in a browser; here it ran %s, so it is drawn at %s (and was drawn at %s and %s to check).*",
		s.Label, why, s.valueText(start), s.valueText(0), s.valueText(s.positions()))
	if err := d.Show(Markdown(note)); err != nil {
		return err
	}
	return d.Show(shown, Name("slider-"+experiment.Slug(s.Label)))
}
