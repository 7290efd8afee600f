//go:build browser

package notebooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser is the real-browser check (scripts/browser-check.sh runs it:
// go test -tags browser -run TestBrowser ./notebooks/). It starts the
// notebook server with `make notebook` on 127.0.0.1, with a random token,
// opens 01_quickstart.ipynb in headless Chromium, and checks that the
// stored output pictures are rendered: every image/png output of the
// notebook file must be an <img> with a data:image/png source that the
// browser has decoded (naturalWidth > 0), and the screenshot must show the
// plots' colours. The screenshot is written to out/browser-check/ in the
// checkout (and kept as a test artifact) for a person to look at. Then it
// drives a slider in a live kernel: it runs the slider cell of
// 05_theory_toy2d from the browser, moves the slider, waits for the
// picture to be redrawn and ends the cell with its Done button (the
// notebook test, which has no browser, cannot).
//
// It needs Debian's chromium (the script installs it) and what make
// notebook installs; without chromium it fails with the install command.
func TestBrowser(t *testing.T) {
	const name = "01_quickstart.ipynb"
	chromium := ""
	for _, c := range []string{os.Getenv("ORW_CHROMIUM"), "chromium", "chromium-browser"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		t.Fatal("no chromium on PATH: install it with apt-get install -y chromium (scripts/browser-check.sh does), or name it in ORW_CHROMIUM")
	}
	// Opening a notebook starts its kernel, which updates the notebook's
	// metadata, and Jupyter may save that: the files are put back as they
	// were when the test ends.
	for _, f := range []string{name, "05_theory_toy2d.ipynb"} {
		orig, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if now, err := os.ReadFile(f); err == nil && !bytes.Equal(now, orig) {
				if err := os.WriteFile(f, orig, 0o644); err != nil {
					t.Errorf("putting %s back: %v", f, err)
				}
			}
		}()
	}
	want := countStoredPNGs(t, name)
	if want == 0 {
		t.Fatalf("%s has no stored image/png outputs to look for", name)
	}

	port := freePort(t)
	var tok [12]byte
	if _, err := rand.Read(tok[:]); err != nil {
		t.Fatal(err)
	}
	token := hex.EncodeToString(tok[:])
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	args := fmt.Sprintf("--no-browser --ip=127.0.0.1 --port=%d --port-retries=0 --NotebookApp.token=%s --ServerApp.token=%s --IdentityProvider.token=%s", port, token, token, token)
	if os.Geteuid() == 0 {
		args += " --allow-root"
	}
	server := exec.Command("make", "-C", root, "notebook", "NOTEBOOK_ARGS="+args)
	var log bytes.Buffer
	server.Stdout, server.Stderr = &log, &log
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group: stopped with its children
	// A kernel the server started runs in a session of its own and inherits the
	// server's output: without a delay, Wait would wait for it to close that
	// output, which it never does if it outlives the server.
	server.WaitDelay = 10 * time.Second
	start := time.Now()
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		shutdownKernels(fmt.Sprintf("http://127.0.0.1:%d", port), token)
		_ = syscall.Kill(-server.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = server.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-server.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(base+"/api/status?token="+token, 5*time.Minute); err != nil {
		t.Fatalf("the notebook server did not answer: %v\n%s", err, tail(log.String(), 30))
	}
	t.Logf("notebook server up after %s", time.Since(start).Round(time.Second))

	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()

	url := fmt.Sprintf("%s/notebooks/%s?token=%s", base, name, token)
	opened := time.Now()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { try { Jupyter.notebook.set_autosave_interval(0) } catch (e) {} return true })()`)); err != nil {
		t.Fatalf("turning autosave off: %v", err)
	}
	// Wait until every stored picture is in the page and decoded.
	const count = `Array.from(document.images).filter(i => i.src.startsWith("data:image/png") && i.complete && i.naturalWidth > 0).length`
	var rendered, all int
	for {
		var err error
		if rendered, err = chromedp.Run(ctx, chromedp.Evaluate[int](count)); err == nil {
			all, err = chromedp.Run(ctx, chromedp.Evaluate[int](`Array.from(document.images).filter(i => i.src.startsWith("data:image/png")).length`))
		}
		if err != nil {
			t.Fatalf("counting images: %v", err)
		}
		if rendered >= want || time.Since(opened) > 90*time.Second {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("%s: %d of %d stored PNG outputs rendered (%d data:image/png <img> elements) after %s", name, rendered, want, all, time.Since(opened).Round(100*time.Millisecond))
	if rendered < want {
		t.Errorf("only %d of the %d stored pictures of %s are rendered", rendered, want, name)
	}

	// The classic notebook scrolls inside #site and draws only what is in
	// view, so the window is made as tall as the notebook before the
	// screenshot of it.
	height, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById("notebook-container").scrollHeight`))
	if err != nil {
		t.Fatalf("measuring the notebook: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1280, int64(height)+200)); err != nil {
		t.Fatalf("resizing the window: %v", err)
	}
	time.Sleep(2 * time.Second) // the notebook lays itself out again
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	out := filepath.Join(root, "out", "browser-check")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, strings.TrimSuffix(name, ".ipynb")+".png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(t.ArtifactDir(), filepath.Base(path)), shot, 0o644)
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("decoding the screenshot: %v", err)
	}
	// The plots' first colour (vis.Color(0), #1f77b4) and the samples' black
	// tiles must both be on the page: a page whose pictures did not render
	// has neither.
	blue, black := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if near(r, 0x1f) && near(g, 0x77) && near(bl, 0xb4) {
				blue++
			}
			if r < 8 && g < 8 && bl < 8 {
				black++
			}
		}
	}
	t.Logf("screenshot %s: %dx%d, %d pixels of the plots' blue, %d black", path, b.Dx(), b.Dy(), blue, black)
	if blue < 2000 || black < 20000 {
		t.Errorf("the screenshot shows %d pixels of the plots' blue and %d black ones: the pictures do not look rendered (see %s)", blue, black, path)
	}
	t.Logf("browser check: %s from the server's start", time.Since(start).Round(time.Second))

	t.Run("slider", func(t *testing.T) { driveSlider(t, ctx, base, token) })
}

// driveSlider runs the slider cell of 05_theory_toy2d in a live kernel, from
// the browser, moves the slider and checks that the picture is redrawn and
// that the Done button ends the cell. Autosave is turned off first and the
// notebook is never saved, so the file keeps its stored outputs.
func driveSlider(t *testing.T, ctx context.Context, base, token string) {
	const name = "05_theory_toy2d.ipynb"
	nb := readNotebook(t, name)
	var cells []int // the set-up cell, the parameters cell and the slider's cell
	slider := -1
	code := 0
	for i, c := range nb.Cells {
		if c.Type != "code" {
			continue
		}
		if code < 2 {
			cells = append(cells, i)
		}
		if strings.Contains(c.source(), "notebook.Slider{") {
			slider = i
		}
		code++
	}
	if slider < 0 {
		t.Fatalf("%s has no slider cell", name)
	}
	cells = append(cells, slider)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(fmt.Sprintf("%s/notebooks/%s?token=%s", base, name, token))); err != nil {
		t.Fatal(err)
	}
	eval := func(js string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	wait := func(what, js string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			if v, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); v {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %s", what, limit)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	wait("the notebook and its kernel", `typeof Jupyter !== "undefined" && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()`, time.Minute)
	eval(`Jupyter.notebook.set_autosave_interval(0), true`)
	started := time.Now()
	eval(fmt.Sprintf(`Jupyter.notebook.execute_cells(%s), true`, strings.ReplaceAll(fmt.Sprint(cells), " ", ",")))
	out := fmt.Sprintf(`Jupyter.notebook.get_cell(%d).output_area.element[0]`, slider)
	wait("the slider", out+`.querySelector("input[type=range]") !== null && `+out+`.querySelector("img") !== null`, 4*time.Minute)
	src := func() string { return fmt.Sprint(eval(out + `.querySelector("img").src`)) }
	before := src()
	t.Logf("slider up after %s", time.Since(started).Round(time.Second))
	eval(`(() => { const s = ` + out + `.querySelector("input[type=range]"); s.value = String(Number(s.max)); s.dispatchEvent(new Event("change")); return true })()`)
	wait("a redrawn picture", out+`.querySelector("img").src !== `+fmt.Sprintf("%q", before), time.Minute)
	t.Logf("picture redrawn after the slider moved to its end")
	eval(`(() => { ` + out + `.querySelector("button").click(); return true })()`)
	wait("the cell to end", `!Jupyter.notebook.get_cell(`+fmt.Sprint(slider)+`).element[0].classList.contains("running") && `+out+`.innerText.includes("Slider stopped")`, time.Minute)
	t.Logf("the Done button ended the cell: %q", strings.TrimSpace(fmt.Sprint(eval(out+`.innerText`))))
}

func near(v, want uint32) bool { return v+6 >= want && v <= want+6 }

// countStoredPNGs counts the image/png outputs stored in a notebook file.
func countStoredPNGs(t *testing.T, path string) int {
	nb := readNotebook(t, path)
	n := 0
	for _, c := range nb.Cells {
		for _, o := range c.Outputs {
			if _, ok := o.Data["image/png"]; ok {
				n++
			}
		}
	}
	return n
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitHTTP polls url until it answers 200 or the time is up.
func waitHTTP(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		time.Sleep(time.Second)
	}
	return last
}

// shutdownKernels asks the notebook server to stop every kernel it runs (the
// kernels are in sessions of their own, out of reach of the server's process
// group).
func shutdownKernels(base, token string) {
	resp, err := http.Get(base + "/api/kernels?token=" + token)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	var kernels []struct {
		ID string `json:"id"`
	}
	if json.NewDecoder(resp.Body).Decode(&kernels) != nil {
		return
	}
	for _, k := range kernels {
		req, err := http.NewRequest(http.MethodDelete, base+"/api/kernels/"+k.ID+"?token="+token, nil)
		if err != nil {
			continue
		}
		if r, err := http.DefaultClient.Do(req); err == nil {
			r.Body.Close()
		}
	}
}
