package datasets

import (
	"bytes"
	"slices"
	"testing"
	"testing/iotest"
)

// The fuzz targets below check that arbitrary input never panics, that
// whatever decodes without error is self-consistent, and that writing it
// back reproduces the input byte for byte (the formats have no slack). The
// seed corpus lives in testdata/fuzz/<FuzzName>/ and runs with `go test`.
//
// CIFAR-10 inputs are at least one 3073-byte record, which the fuzzing
// engine's minimiser handles slowly (its last pass is quadratic in the input
// size, so each new interesting input can stall a worker for the default 60 s);
// fuzz it with a short minimisation budget:
//
//	go test -run XXX -fuzz FuzzReadCIFAR10 -fuzztime 30s -fuzzminimizetime 2s ./pkg/tasks/datasets/

func FuzzReadIDXImages(f *testing.F) {
	f.Add(idxBytes(0x803, []uint32{1, 2, 2}, []byte{0, 64, 128, 255}))
	f.Add(idxBytes(0x803, []uint32{1 << 31, 1, 1}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		imgs, err := DecodeIDXImages(bytes.NewReader(data))
		// A reader returning short reads must give the same result.
		imgs2, err2 := DecodeIDXImages(iotest.HalfReader(bytes.NewReader(data)))
		if (err == nil) != (err2 == nil) {
			t.Fatalf("short reads change the outcome: %v vs %v", err, err2)
		}
		if err != nil {
			if imgs != nil {
				t.Fatal("images returned with an error")
			}
			return
		}
		if imgs.C != 1 || imgs.N <= 0 || imgs.H <= 0 || imgs.W <= 0 || len(imgs.Pix) != imgs.N*imgs.H*imgs.W {
			t.Fatalf("inconsistent images %d×%d×%d×%d with %d bytes", imgs.N, imgs.H, imgs.W, imgs.C, len(imgs.Pix))
		}
		if !bytes.Equal(imgs.Pix, imgs2.Pix) {
			t.Fatal("short reads change the pixels")
		}
		var buf bytes.Buffer
		if err := WriteIDXImages(&buf, imgs); err != nil {
			t.Fatalf("re-encoding decoded images: %v", err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatal("re-encoding does not reproduce the input")
		}
	})
}

func FuzzReadIDXLabels(f *testing.F) {
	f.Add(idxBytes(0x801, []uint32{3}, []byte{0, 9, 255}))
	f.Add(idxBytes(0x801, []uint32{0xffffffff}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		labels, err := DecodeIDXLabels(bytes.NewReader(data))
		labels2, err2 := DecodeIDXLabels(iotest.HalfReader(bytes.NewReader(data)))
		if (err == nil) != (err2 == nil) {
			t.Fatalf("short reads change the outcome: %v vs %v", err, err2)
		}
		if err != nil {
			if labels != nil {
				t.Fatal("labels returned with an error")
			}
			return
		}
		if len(labels) == 0 || !slices.Equal(labels, labels2) {
			t.Fatalf("labels %v vs %v", labels, labels2)
		}
		var buf bytes.Buffer
		if err := WriteIDXLabels(&buf, labels); err != nil {
			t.Fatalf("re-encoding decoded labels: %v", err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatal("re-encoding does not reproduce the input")
		}
	})
}

func FuzzReadCIFAR10(f *testing.F) {
	f.Add(cifarRecords(0, []int{4}))
	f.Add([]byte{10})
	f.Fuzz(func(t *testing.T, data []byte) {
		imgs, labels, err := DecodeCIFAR10(bytes.NewReader(data))
		imgs2, labels2, err2 := DecodeCIFAR10(iotest.HalfReader(bytes.NewReader(data)))
		if (err == nil) != (err2 == nil) {
			t.Fatalf("short reads change the outcome: %v vs %v", err, err2)
		}
		if err != nil {
			if imgs != nil || labels != nil {
				t.Fatal("data returned with an error")
			}
			return
		}
		if imgs.N != len(labels) || imgs.N == 0 || imgs.H != 32 || imgs.W != 32 || imgs.C != 3 || len(imgs.Pix) != imgs.N*3072 {
			t.Fatalf("inconsistent batch: %d×%d×%d×%d, %d bytes, %d labels", imgs.N, imgs.H, imgs.W, imgs.C, len(imgs.Pix), len(labels))
		}
		if !bytes.Equal(imgs.Pix, imgs2.Pix) || !slices.Equal(labels, labels2) {
			t.Fatal("short reads change the data")
		}
		for _, l := range labels {
			if l < 0 || l > 9 {
				t.Fatalf("label %d accepted", l)
			}
		}
		var buf bytes.Buffer
		if err := WriteCIFAR10Batch(&buf, imgs, labels); err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatal("re-encoding does not reproduce the input")
		}
	})
}
