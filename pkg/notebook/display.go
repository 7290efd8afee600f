package notebook

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/vis"
	"github.com/orwcfm/orwcfm/pkg/vis/runplot"
)

// Display is where Show, Progress and Live send their output: rich outputs
// to a notebook front-end, or text and files.
//
// The package-level functions use Default(). A Display built by hand, with
// a Publish function that records what it is given, shows exactly what a
// notebook would receive; tests use that.
type Display struct {
	// Notebook selects rich output through Publish; otherwise a text
	// summary goes to Text and pictures are written to Dir.
	Notebook bool

	// Publish sends one output to the notebook: MIME type → content
	// ([]byte for image/png, string for text types). An empty id makes a
	// new output; a non-empty id makes the output the first time it is
	// used and replaces its content every later time.
	Publish func(data map[string]any, id string)

	// Text receives text output (os.Stdout when nil).
	Text io.Writer

	// Dir is where pictures are written outside a notebook (OutDir()
	// when empty); it is created when needed.
	Dir string

	// Now is the clock of progress bars (time.Now when nil).
	Now func() time.Time

	// Sync, when not nil, waits until the kernel has taken every output
	// published so far (gonbui.Sync in a notebook); the displaying
	// functions of this package call it before they return.
	Sync func()

	mu      sync.Mutex
	figures int
}

var (
	defaultOnce    sync.Once
	defaultDisplay *Display
)

// Default returns the display of this process: rich output through GoNB
// when the process runs as a GoNB cell (gonbui.IsNotebook), text and files
// otherwise.
func Default() *Display {
	defaultOnce.Do(func() {
		defaultDisplay = &Display{Notebook: gonbui.IsNotebook, Publish: gonbPublish, Sync: gonbui.Sync}
	})
	return defaultDisplay
}

func (d *Display) text() io.Writer {
	if d.Text == nil {
		return os.Stdout
	}
	return d.Text
}

func (d *Display) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// sync waits for the kernel to take the outputs (see Display.Sync).
func (d *Display) sync() {
	if d.Notebook && d.Sync != nil {
		d.Sync()
	}
}

func (d *Display) publish(data map[string]any, id string) {
	if d.Publish != nil {
		d.Publish(data, id)
	}
}

// Markdown is text in Markdown, with LaTeX between $ … $ or $$ … $$; Show
// renders it in a notebook and prints it as it is elsewhere.
type Markdown string

// HTML is a fragment of HTML; Show renders it in a notebook and prints it
// with its tags removed elsewhere.
type HTML string

// Table is a table of text: a header row and data rows. Show renders it as
// an HTML table in a notebook and as aligned columns elsewhere.
type Table struct {
	Header []string
	Rows   [][]string
}

// Animation is a sequence of pictures (images, plots, sample batches: any
// value Show draws as a picture) shown Delay apart, looping. Show encodes
// it as an animated PNG, which notebooks and browsers play as an ordinary
// image/png output.
type Animation struct {
	Frames []any
	Delay  time.Duration
}

// titled is a picture with a title above it (see Titled).
type titled struct {
	title string
	x     any
}

// Titled returns x (any value Show draws as a picture) with title written
// above it, for example to name the settings in a Row of sample grids.
func Titled(title string, x any) any { return titled{title, x} }

// row is pictures side by side (see Row).
type row []any

// Row returns its arguments, any values Show draws as pictures, side by side
// as one picture, for example the samples of several runs to compare. Plots
// in a row are drawn at 4 × 3 inches unless Size says otherwise.
func Row(xs ...any) any { return row(xs) }

// Option adjusts how Show draws a value.
type Option func(*options)

type options struct {
	name     string
	w, h     vg.Length
	cols, n  int
	scale    int
	captions []string
	sized    bool // Size was given
}

// Name names the picture: the alternative text in a notebook, and the file
// name outside it.
func Name(name string) Option { return func(o *options) { o.name = name } }

// Size sets the size of plots, in inches (6 × 4 by default).
func Size(wInches, hInches float64) Option {
	return func(o *options) {
		o.w, o.h, o.sized = vg.Length(wInches)*vg.Inch, vg.Length(hInches)*vg.Inch, true
	}
}

// Cols sets the number of columns of a sample grid.
func Cols(n int) Option { return func(o *options) { o.cols = n } }

// First shows only the first n images of a sample batch.
func First(n int) Option { return func(o *options) { o.n = n } }

// Scale sets the enlargement of the images of a sample grid (2 by default).
func Scale(k int) Option { return func(o *options) { o.scale = k } }

// Captions sets one caption per image of a sample grid (ASCII text).
func Captions(c ...string) Option { return func(o *options) { o.captions = c } }

// Show displays x: inline in a notebook, or, outside one, as a line of text
// and, for pictures, a PNG file in Dir. It draws
//
//   - *plot.Plot (as made by package vis and runplot): a PNG of 6 × 4 inches (see Size);
//   - image.Image, or []image.Image as a grid;
//   - *orw.Images: a grid of the images (values in [−1, 1]; see Cols, First,
//     Scale, Captions), or a scatter plot when they are 2-D points;
//   - Animation: an animated PNG;
//   - values made by Row and Titled;
//   - []byte holding a PNG file;
//   - Markdown, HTML, Table, and string (as Markdown).
func Show(x any, opts ...Option) error {
	defer Default().sync()
	return Default().Show(x, opts...)
}

// Show displays x on d (see the function Show).
func (d *Display) Show(x any, opts ...Option) error {
	o := options{w: 6 * vg.Inch, h: 4 * vg.Inch}
	for _, f := range opts {
		f(&o)
	}
	switch v := x.(type) {
	case nil:
		return errors.New("notebook: Show: nil value")
	case string:
		return d.Show(Markdown(v), opts...)
	case Markdown:
		if d.Notebook {
			d.publish(map[string]any{"text/markdown": string(v), "text/plain": string(v)}, "")
			return nil
		}
		_, err := fmt.Fprintln(d.text(), strings.TrimRight(string(v), "\n"))
		return err
	case HTML:
		if d.Notebook {
			d.publish(map[string]any{"text/html": string(v), "text/plain": stripTags(string(v))}, "")
			return nil
		}
		_, err := fmt.Fprintln(d.text(), stripTags(string(v)))
		return err
	case Table:
		if d.Notebook {
			d.publish(map[string]any{"text/html": v.html(), "text/plain": v.text()}, "")
			return nil
		}
		_, err := io.WriteString(d.text(), v.text())
		return err
	case []byte:
		if !bytes.HasPrefix(v, []byte("\x89PNG\r\n\x1a\n")) {
			return errors.New("notebook: Show: []byte is not a PNG file")
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(v))
		if err != nil {
			return fmt.Errorf("notebook: Show: %w", err)
		}
		return d.showPNG(v, image.Pt(cfg.Width, cfg.Height), o.name, "")
	case Animation:
		if len(v.Frames) == 0 {
			return errors.New("notebook: Show: animation without frames")
		}
		frames := make([]image.Image, len(v.Frames))
		for i, f := range v.Frames {
			img, err := picture(f, o)
			if err != nil {
				return fmt.Errorf("notebook: Show: frame %d: %w", i, err)
			}
			frames[i] = img
		}
		var buf bytes.Buffer
		if err := vis.EncodeAPNG(&buf, frames, v.Delay); err != nil {
			return err
		}
		name := o.name
		if name == "" {
			name = "animation"
		}
		return d.showPNG(buf.Bytes(), frames[0].Bounds().Size(), name, fmt.Sprintf(", %d frames", len(frames)))
	}
	img, err := picture(x, o)
	if err != nil {
		return fmt.Errorf("notebook: Show: %w", err)
	}
	b, err := encodePNG(img)
	if err != nil {
		return err
	}
	return d.showPNG(b, img.Bounds().Size(), o.name, "")
}

// picture draws x as an image.
func picture(x any, o options) (image.Image, error) {
	switch v := x.(type) {
	case *plot.Plot:
		return vis.PlotImage(v, o.w, o.h)
	case image.Image:
		return v, nil
	case []image.Image:
		if len(v) == 0 {
			return nil, errors.New("no images")
		}
		return vis.Grid(v, o.cols, vis.GridOptions{Scale: o.scale, Pad: 1, Captions: o.captions}), nil
	case *orw.Images:
		if err := v.Validate(); err != nil {
			return nil, err
		}
		if v.N == 0 {
			return nil, errors.New("no images")
		}
		if runplot.IsPoints(v) {
			p, err := vis.Scatter(runplot.Points(v), nil)
			if err != nil {
				return nil, err
			}
			w := min(o.w, o.h)
			return vis.PlotImage(p, w*1.15, w)
		}
		cols := o.cols
		if cols <= 0 {
			cols = 8
		}
		return runplot.SampleGrid(v, o.n, cols, o.scale, o.captions)
	case titled:
		img, err := picture(v.x, o)
		if err != nil {
			return nil, err
		}
		return vis.Titled(img, v.title), nil
	case row:
		if len(v) == 0 {
			return nil, errors.New("empty row")
		}
		ro := o
		if !o.sized {
			ro.w, ro.h = 4*vg.Inch, 3*vg.Inch
		}
		imgs := make([]image.Image, len(v))
		for i, x := range v {
			img, err := picture(x, ro)
			if err != nil {
				return nil, fmt.Errorf("row item %d: %w", i, err)
			}
			imgs[i] = img
		}
		return vis.Grid(imgs, len(imgs), vis.GridOptions{Scale: 1, Pad: 6}), nil
	case nil:
		return nil, errors.New("nil picture")
	}
	return nil, fmt.Errorf("cannot draw a %T", x)
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("notebook: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// showPNG publishes PNG bytes, or writes them to a file and says so.
func (d *Display) showPNG(b []byte, size image.Point, name, note string) error {
	d.mu.Lock()
	d.figures++
	n := d.figures
	d.mu.Unlock()
	if name == "" {
		name = "figure"
	}
	alt := fmt.Sprintf("%s (%d×%d%s)", name, size.X, size.Y, note)
	if d.Notebook {
		d.publish(map[string]any{"image/png": b, "text/plain": alt}, "")
		return nil
	}
	path, err := d.writeFile(fmt.Sprintf("%03d-%s.png", n, experiment.Slug(name)), b)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(d.text(), "[%s → %s]\n", alt, path)
	return err
}

// writeFile writes b to name in the display's directory.
func (d *Display) writeFile(name string, b []byte) (string, error) {
	dir := d.Dir
	if dir == "" {
		dir = OutDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("notebook: %w", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("notebook: %w", err)
	}
	return path, nil
}

// html renders the table as HTML, every cell escaped.
func (t Table) html() string {
	var b strings.Builder
	b.WriteString("<table>\n")
	if len(t.Header) > 0 {
		b.WriteString("<thead><tr>")
		for _, h := range t.Header {
			b.WriteString("<th>" + html.EscapeString(h) + "</th>")
		}
		b.WriteString("</tr></thead>\n")
	}
	b.WriteString("<tbody>\n")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for _, c := range r {
			b.WriteString("<td>" + html.EscapeString(c) + "</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>")
	return b.String()
}

// text renders the table as aligned columns.
func (t Table) text() string {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	line := func(cells []string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	if len(t.Header) > 0 {
		line(t.Header)
	}
	for _, r := range t.Rows {
		line(r)
	}
	tw.Flush()
	return buf.String()
}

// stripTags removes HTML tags and unescapes entities, for a text rendering.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return html.UnescapeString(b.String())
}
