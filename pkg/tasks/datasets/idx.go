package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The idx format (http://yann.lecun.com/exdb/mnist/) starts with a 4-byte
// big-endian magic number 0x0000TTDD, where TT is the element type (0x08:
// unsigned byte) and DD the number of dimensions, followed by DD big-endian
// uint32 sizes and the elements in row-major order.
const (
	// IDXImagesMagic is the magic number of an unsigned-byte idx file with
	// three dimensions (images × rows × columns).
	IDXImagesMagic = 0x00000803
	// IDXLabelsMagic is the magic number of an unsigned-byte idx file with
	// one dimension (labels).
	IDXLabelsMagic = 0x00000801
)

// MaxIDXBytes is the largest element count an idx header may declare; a
// header claiming more is rejected as corrupt before anything is allocated.
const MaxIDXBytes = 1<<31 - 1

// idxHint tells the user what to do about a broken idx file.
const idxHint = "re-download the file or point --data at a directory with the standard idx files"

// readChunk is the initial buffer size used when reading idx payloads: the
// buffer then doubles as data actually arrives, so a header that lies about
// its size costs no more memory than the bytes that follow it.
const readChunk = 1 << 16

// DecodeIDXImages reads an uncompressed idx image file (magic 0x00000803,
// dimensions N×H×W) from r and returns it as Images with C = 1. It reads r to
// the end: bytes beyond what the header declares are an error.
func DecodeIDXImages(r io.Reader) (*Images, error) {
	return decodeIDXImages(r, "idx image data")
}

// DecodeIDXLabels reads an uncompressed idx label file (magic 0x00000801,
// one dimension N) from r and returns its N labels. It reads r to the end:
// bytes beyond what the header declares are an error.
func DecodeIDXLabels(r io.Reader) ([]int, error) {
	return decodeIDXLabels(r, "idx label data")
}

// ReadIDXImages reads the idx image file at path. A path ending in ".gz" is
// decompressed with gzip. If path does not exist, ReadIDXImages falls back to
// the same name without the ".gz" suffix (or with it, if path has none).
// Errors name the file that was read.
func ReadIDXImages(path string) (*Images, error) {
	var imgs *Images
	err := withIDXFile(path, func(r io.Reader, name string) error {
		var err error
		imgs, err = decodeIDXImages(r, name)
		return err
	})
	return imgs, err
}

// ReadIDXLabels reads the idx label file at path, with the same handling of
// ".gz" names as ReadIDXImages.
func ReadIDXLabels(path string) ([]int, error) {
	var labels []int
	err := withIDXFile(path, func(r io.Reader, name string) error {
		var err error
		labels, err = decodeIDXLabels(r, name)
		return err
	})
	return labels, err
}

// WriteIDXImages writes imgs to w as an uncompressed unsigned-byte idx file
// (magic 0x00000803, dimensions N×H×W). imgs must have one channel (C = 1).
func WriteIDXImages(w io.Writer, imgs *Images) error {
	if imgs == nil {
		return errors.New("datasets: WriteIDXImages: nil images")
	}
	if imgs.C != 1 {
		return fmt.Errorf("datasets: WriteIDXImages: idx images have one channel but these have C=%d; convert to grayscale first", imgs.C)
	}
	if err := checkIDXWritable(imgs.Pix, imgs.N, imgs.H, imgs.W); err != nil {
		return err
	}
	hdr := make([]byte, 16)
	binary.BigEndian.PutUint32(hdr[0:], IDXImagesMagic)
	binary.BigEndian.PutUint32(hdr[4:], uint32(imgs.N))
	binary.BigEndian.PutUint32(hdr[8:], uint32(imgs.H))
	binary.BigEndian.PutUint32(hdr[12:], uint32(imgs.W))
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("datasets: WriteIDXImages: %w", err)
	}
	if _, err := w.Write(imgs.Pix); err != nil {
		return fmt.Errorf("datasets: WriteIDXImages: %w", err)
	}
	return nil
}

// WriteIDXLabels writes labels to w as an uncompressed unsigned-byte idx
// file (magic 0x00000801). Every label must be in [0, 255].
func WriteIDXLabels(w io.Writer, labels []int) error {
	if len(labels) > MaxIDXBytes {
		return fmt.Errorf("datasets: WriteIDXLabels: %d labels exceed the idx limit of %d", len(labels), MaxIDXBytes)
	}
	buf := make([]byte, 8+len(labels))
	binary.BigEndian.PutUint32(buf[0:], IDXLabelsMagic)
	binary.BigEndian.PutUint32(buf[4:], uint32(len(labels)))
	for i, l := range labels {
		if l < 0 || l > 255 {
			return fmt.Errorf("datasets: WriteIDXLabels: label %d at index %d does not fit in an unsigned byte", l, i)
		}
		buf[8+i] = byte(l)
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("datasets: WriteIDXLabels: %w", err)
	}
	return nil
}

func checkIDXWritable(pix []uint8, dims ...int) error {
	total := 1
	for _, d := range dims {
		if d <= 0 || d > MaxIDXBytes || total > MaxIDXBytes/d {
			return fmt.Errorf("datasets: WriteIDXImages: dimensions %s are empty or exceed the idx limit of %d bytes", dimString(dims), MaxIDXBytes)
		}
		total *= d
	}
	if len(pix) != total {
		return fmt.Errorf("datasets: WriteIDXImages: %d pixel bytes for dimensions %s, want %d", len(pix), dimString(dims), total)
	}
	return nil
}

func dimString(dims []int) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = fmt.Sprint(d)
	}
	return strings.Join(s, "x")
}

func decodeIDXImages(r io.Reader, name string) (*Images, error) {
	dims, data, err := decodeIDX(r, name, IDXImagesMagic, "images")
	if err != nil {
		return nil, err
	}
	return &Images{N: dims[0], H: dims[1], W: dims[2], C: 1, Pix: data}, nil
}

func decodeIDXLabels(r io.Reader, name string) ([]int, error) {
	_, data, err := decodeIDX(r, name, IDXLabelsMagic, "labels")
	if err != nil {
		return nil, err
	}
	labels := make([]int, len(data))
	for i, b := range data {
		labels[i] = int(b)
	}
	return labels, nil
}

// describeIDX renders what a header declares, e.g. "60000 images of 28x28".
func describeIDX(what string, dims []uint64) string {
	s := fmt.Sprintf("%d %s", dims[0], what)
	if len(dims) > 1 {
		parts := make([]string, len(dims)-1)
		for i, d := range dims[1:] {
			parts[i] = fmt.Sprint(d)
		}
		s += " of " + strings.Join(parts, "x")
	}
	return s
}

// decodeIDX reads a whole unsigned-byte idx stream with the given magic
// number; what ("images" or "labels") is used in messages.
func decodeIDX(r io.Reader, name string, magic uint32, what string) ([]int, []byte, error) {
	ndims := int(magic & 0xff)
	var m [4]byte
	if n, err := io.ReadFull(r, m[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil, fmt.Errorf("datasets: %s: truncated: only %d bytes, too short for the 4-byte idx magic number; %s", name, n, idxHint)
		}
		return nil, nil, fmt.Errorf("datasets: %s: %w", name, err)
	}
	if got := binary.BigEndian.Uint32(m[:]); got != magic {
		return nil, nil, badMagicError(name, got, magic, what)
	}
	hdr := make([]byte, 4*ndims)
	if n, err := io.ReadFull(r, hdr); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil, fmt.Errorf("datasets: %s: truncated: the idx header needs %d dimension sizes (%d bytes) after the magic number but only %d bytes follow; %s",
				name, ndims, 4*ndims, n, idxHint)
		}
		return nil, nil, fmt.Errorf("datasets: %s: %w", name, err)
	}
	dims64 := make([]uint64, ndims)
	for i := range dims64 {
		dims64[i] = uint64(binary.BigEndian.Uint32(hdr[4*i:]))
	}
	desc := describeIDX(what, dims64)
	total := uint64(1)
	for _, d := range dims64 {
		if d == 0 {
			return nil, nil, fmt.Errorf("datasets: %s: header declares a zero dimension (%s); the file is empty or corrupt; %s", name, desc, idxHint)
		}
		total *= d // both factors are < 2^32, so this cannot overflow
		if total > MaxIDXBytes {
			return nil, nil, fmt.Errorf("datasets: %s: header declares %s, more than the %d-byte limit; the file is corrupt or not an idx file; %s", name, desc, MaxIDXBytes, idxHint)
		}
	}
	dims := make([]int, ndims)
	for i, d := range dims64 {
		dims[i] = int(d)
	}
	n := int(total)
	data, err := readUpTo(r, n)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: reading %s: %w", name, desc, err)
	}
	if len(data) < n {
		return nil, nil, fmt.Errorf("datasets: %s: truncated: header says %s (%d bytes) but only %d bytes follow; %s", name, desc, n, len(data), idxHint)
	}
	extra, err := io.Copy(io.Discard, r)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: after %s: %w", name, desc, err)
	}
	if extra > 0 {
		return nil, nil, fmt.Errorf("datasets: %s: %d unexpected bytes after the %d bytes of %s; the header does not match the data; %s", name, extra, n, desc, idxHint)
	}
	return dims, data, nil
}

func badMagicError(name string, got, want uint32, what string) error {
	var why string
	switch {
	case got>>16 == 0x1f8b:
		why = "the data is gzip-compressed; give the file a .gz suffix (or decompress it) so it is read as gzip"
	case got == IDXLabelsMagic && want == IDXImagesMagic:
		why = "this is an idx label file, not an image file; check which file was passed"
	case got == IDXImagesMagic && want == IDXLabelsMagic:
		why = "this is an idx image file, not a label file; check which file was passed"
	case got>>16 == 0 && got>>8&0xff != 0x08:
		why = fmt.Sprintf("element type 0x%02x is not unsigned byte (0x08); only 8-bit idx files are supported", got>>8&0xff)
	case got>>16 == 0:
		why = fmt.Sprintf("it declares %d dimensions, want %d for idx %s", got&0xff, want&0xff, what)
	default:
		why = "this is not an idx file; " + idxHint
	}
	return fmt.Errorf("datasets: %s: bad magic number 0x%08x, want 0x%08x for idx %s: %s", name, got, want, what, why)
}

// readUpTo reads from r until it has n bytes or r is exhausted. The buffer
// grows with the data read, so a small input never allocates much even when
// n is large.
func readUpTo(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, readChunk))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(n, 2*cap(buf)))
			copy(nb, buf)
			buf = nb
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// resolveIDXPath returns the file to read for path: path itself if it
// exists, else the same name without (or with) the ".gz" suffix.
func resolveIDXPath(path string) (string, error) {
	alt := path + ".gz"
	if base, ok := strings.CutSuffix(path, ".gz"); ok {
		alt = base
	}
	for _, p := range []string{path, alt} {
		st, err := os.Stat(p)
		if err == nil && !st.IsDir() {
			return p, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("datasets: %w", err)
		}
	}
	return "", fmt.Errorf("datasets: %s (or %s): %w; point --data at a directory with the standard idx files",
		path, filepath.Base(alt), fs.ErrNotExist)
}

// withIDXFile opens path (see resolveIDXPath), wraps it in a gzip reader if
// its name ends in ".gz" and calls decode with the stream and its name.
func withIDXFile(path string, decode func(r io.Reader, name string) error) error {
	p, err := resolveIDXPath(path)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<16)
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("datasets: %s: not a valid gzip file (%v); the name ends in .gz, so it must be gzip-compressed: %s", p, err, idxHint)
		}
		defer zr.Close()
		r = &gzipErrReader{r: zr, name: p}
	}
	return decode(r, p)
}

// gzipErrReader labels decompression errors as such, so that a damaged .gz
// is reported as a gzip problem rather than a bare "invalid checksum".
type gzipErrReader struct {
	r    io.Reader
	name string
}

func (g *gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("gzip data is damaged (%w); %s", err, idxHint)
	}
	return n, err
}

// idxFileNames returns the base names of the image and label files of split,
// without the ".gz" suffix.
func idxFileNames(split Split) (images, labels string) {
	prefix := "train"
	if split == Test {
		prefix = "t10k"
	}
	return prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"
}

// LoadIDXDir loads split from dir, which must hold the standard idx file
// pair train-images-idx3-ubyte / train-labels-idx1-ubyte (Train) or
// t10k-images-idx3-ubyte / t10k-labels-idx1-ubyte (Test), each either
// gzip-compressed with a ".gz" suffix (preferred when both exist) or plain.
// The returned Set is called name; its NumClasses is one more than the
// largest label and its ClassNames is nil.
func LoadIDXDir(dir string, split Split, name string) (*Set, error) {
	if err := split.valid(); err != nil {
		return nil, err
	}
	imgName, lblName := idxFileNames(split)
	imgs, err := ReadIDXImages(filepath.Join(dir, imgName+".gz"))
	if err != nil {
		return nil, err
	}
	lblPath := filepath.Join(dir, lblName+".gz")
	labels, err := ReadIDXLabels(lblPath)
	if err != nil {
		return nil, err
	}
	if len(labels) != imgs.N {
		return nil, fmt.Errorf("datasets: %s: %s has %d labels but %s has %d images; the files do not belong together; %s",
			dir, lblName, len(labels), imgName, imgs.N, idxHint)
	}
	numClasses := 0
	for _, l := range labels {
		numClasses = max(numClasses, l+1)
	}
	return &Set{Name: name, Images: imgs, Labels: labels, NumClasses: numClasses}, nil
}
