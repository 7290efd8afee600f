package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// CIFAR-10 binary batches are a sequence of records, each one label byte
// followed by a 32×32 image stored plane by plane: 1024 red bytes, 1024 green
// bytes and 1024 blue bytes, each plane row-major.
const (
	cifarSide   = 32
	cifarPlane  = cifarSide * cifarSide
	cifarPixels = 3 * cifarPlane
	// CIFAR10RecordSize is the size in bytes of one record of a CIFAR-10
	// binary batch: 1 label byte and 3072 pixel bytes.
	CIFAR10RecordSize = 1 + cifarPixels
	// maxCIFARRecords bounds what a single stream may hold, so that pixels
	// stay addressable by an int on every platform.
	maxCIFARRecords = MaxIDXBytes / cifarPixels
)

// CIFAR10ClassNames are the names of the ten CIFAR-10 classes, by label.
var CIFAR10ClassNames = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// cifarHint tells the user what to do about a missing or broken batch.
const cifarHint = "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, extract it and point --data at cifar-10-batches-bin (or its parent)"

// DecodeCIFAR10 reads one CIFAR-10 binary batch from r, to its end, and
// returns its images (32×32×3, channels last) and labels. The stream must be
// a whole number of 3073-byte records, at least one, with labels in [0, 9].
func DecodeCIFAR10(r io.Reader) (*Images, []int, error) {
	return decodeCIFAR10(r, "CIFAR-10 data", 0)
}

// decodeCIFAR10 decodes a batch named name; sizeHint, if positive, is the
// expected number of records and only sets the initial capacity.
func decodeCIFAR10(r io.Reader, name string, sizeHint int) (*Images, []int, error) {
	sizeHint = min(max(sizeHint, 0), maxCIFARRecords)
	pix := make([]uint8, 0, sizeHint*cifarPixels)
	labels := make([]int, 0, sizeHint)
	var rec [CIFAR10RecordSize]byte
	for n := 0; ; n++ {
		k, err := io.ReadFull(r, rec[:])
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF {
			size := int64(n)*CIFAR10RecordSize + int64(k)
			return nil, nil, fmt.Errorf("datasets: %s: size %d bytes is not a multiple of the %d-byte CIFAR-10 record (1 label + 3072 pixels): the last record is cut short after %d bytes; the file is truncated or not a CIFAR-10 binary batch; %s",
				name, size, CIFAR10RecordSize, k, cifarHint)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("datasets: %s: reading record %d: %w", name, n, err)
		}
		if n >= maxCIFARRecords {
			return nil, nil, fmt.Errorf("datasets: %s: more than %d records, beyond the supported size; split the data into batches of the standard size", name, maxCIFARRecords)
		}
		if rec[0] >= 10 {
			return nil, nil, fmt.Errorf("datasets: %s: record %d has label %d but CIFAR-10 labels are 0..9; the file is corrupt or from another data set (CIFAR-100 records carry two label bytes); %s",
				name, n, rec[0], cifarHint)
		}
		labels = append(labels, int(rec[0]))
		// Planar RGB → channels last.
		base := len(pix)
		pix = append(pix, make([]uint8, cifarPixels)...)
		dst := pix[base : base+cifarPixels]
		red, green, blue := rec[1:1+cifarPlane], rec[1+cifarPlane:1+2*cifarPlane], rec[1+2*cifarPlane:]
		for p := range cifarPlane {
			dst[3*p] = red[p]
			dst[3*p+1] = green[p]
			dst[3*p+2] = blue[p]
		}
	}
	if len(labels) == 0 {
		return nil, nil, fmt.Errorf("datasets: %s: empty: no CIFAR-10 records; %s", name, cifarHint)
	}
	return &Images{N: len(labels), H: cifarSide, W: cifarSide, C: 3, Pix: pix}, labels, nil
}

// WriteCIFAR10Batch writes imgs and labels to w as a CIFAR-10 binary batch.
// imgs must be 32×32×3 (channels last), with one label in [0, 9] per image.
func WriteCIFAR10Batch(w io.Writer, imgs *Images, labels []int) error {
	if imgs == nil {
		return errors.New("datasets: WriteCIFAR10Batch: nil images")
	}
	if imgs.H != cifarSide || imgs.W != cifarSide || imgs.C != 3 {
		return fmt.Errorf("datasets: WriteCIFAR10Batch: CIFAR-10 images are 32x32x3 but these are %dx%dx%d", imgs.H, imgs.W, imgs.C)
	}
	if imgs.N < 0 || len(imgs.Pix) != imgs.N*cifarPixels {
		return fmt.Errorf("datasets: WriteCIFAR10Batch: %d pixel bytes for %d images of 32x32x3, want %d", len(imgs.Pix), imgs.N, imgs.N*cifarPixels)
	}
	if len(labels) != imgs.N {
		return fmt.Errorf("datasets: WriteCIFAR10Batch: %d labels for %d images", len(labels), imgs.N)
	}
	for i, l := range labels {
		if l < 0 || l >= 10 {
			return fmt.Errorf("datasets: WriteCIFAR10Batch: label %d of image %d is not a CIFAR-10 class (0..9)", l, i)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var rec [CIFAR10RecordSize]byte
	for i, l := range labels {
		rec[0] = byte(l)
		src := imgs.At(i)
		for p := range cifarPlane {
			rec[1+p] = src[3*p]
			rec[1+cifarPlane+p] = src[3*p+1]
			rec[1+2*cifarPlane+p] = src[3*p+2]
		}
		if _, err := bw.Write(rec[:]); err != nil {
			return fmt.Errorf("datasets: WriteCIFAR10Batch: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("datasets: WriteCIFAR10Batch: %w", err)
	}
	return nil
}

// ReadCIFAR10Batch reads the CIFAR-10 binary batch file at path (e.g.
// data_batch_1.bin) and returns its images (32×32×3, channels last) and
// labels. Errors name the file.
func ReadCIFAR10Batch(path string) (*Images, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("datasets: %s: %w; %s", path, fs.ErrNotExist, cifarHint)
		}
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	hint := 0
	if st.Mode().IsRegular() {
		size := st.Size()
		if size == 0 || size%CIFAR10RecordSize != 0 {
			return nil, nil, fmt.Errorf("datasets: %s: size %d bytes is not a positive multiple of the %d-byte CIFAR-10 record (1 label + 3072 pixels); the file is truncated or not a CIFAR-10 binary batch; %s",
				path, size, CIFAR10RecordSize, cifarHint)
		}
		if size/CIFAR10RecordSize > maxCIFARRecords {
			return nil, nil, fmt.Errorf("datasets: %s: %d records, beyond the supported %d; split the data into batches of the standard size", path, size/CIFAR10RecordSize, maxCIFARRecords)
		}
		hint = int(size / CIFAR10RecordSize)
	}
	return decodeCIFAR10(bufio.NewReaderSize(f, 1<<16), path, hint)
}

// cifarBatchNames returns the batch file names of split.
func cifarBatchNames(split Split) []string {
	if split == Test {
		return []string{"test_batch.bin"}
	}
	return []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
}

// LoadCIFAR10 loads split of CIFAR-10 from the binary batches in dir:
// data_batch_1.bin … data_batch_5.bin for Train (50000 images), test_batch.bin
// for Test (10000 images). dir may also be the parent of the
// cifar-10-batches-bin folder that the official archive extracts to. If dir is
// "", the environment variable ORW_CIFAR10_DIR is used. Images are 32×32×3,
// channels last.
func LoadCIFAR10(dir string, split Split) (*Set, error) {
	if err := split.valid(); err != nil {
		return nil, err
	}
	if dir == "" {
		dir = os.Getenv("ORW_CIFAR10_DIR")
		if dir == "" {
			return nil, fmt.Errorf("datasets: CIFAR-10: no directory given and ORW_CIFAR10_DIR is not set; %s", cifarHint)
		}
	}
	names := cifarBatchNames(split)
	if _, err := os.Stat(filepath.Join(dir, names[0])); err != nil {
		sub := filepath.Join(dir, "cifar-10-batches-bin")
		if _, err2 := os.Stat(filepath.Join(sub, names[0])); err2 != nil {
			return nil, fmt.Errorf("datasets: CIFAR-10 %s: %s not found in %s nor in %s; %s", split, names[0], dir, sub, cifarHint)
		}
		dir = sub
	}
	var parts []*Images
	var labels []int
	total := 0
	for _, n := range names {
		imgs, l, err := ReadCIFAR10Batch(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		parts = append(parts, imgs)
		labels = append(labels, l...)
		total += imgs.N
	}
	imgs := parts[0]
	if len(parts) > 1 {
		imgs = &Images{N: total, H: cifarSide, W: cifarSide, C: 3, Pix: make([]uint8, 0, total*cifarPixels)}
		for _, p := range parts {
			imgs.Pix = append(imgs.Pix, p.Pix...)
		}
	}
	return &Set{Name: "cifar10", Images: imgs, Labels: labels, NumClasses: 10, ClassNames: slices.Clone(CIFAR10ClassNames)}, nil
}
