package datasets_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/orwcfm/orwcfm/pkg/tasks/datasets"
)

// Write two tiny 2×3 grayscale images as an idx file and read them back.
func ExampleWriteIDXImages() {
	imgs := &datasets.Images{N: 2, H: 2, W: 3, C: 1, Pix: []uint8{
		0, 51, 255, // image 0, row 0
		102, 153, 204, // image 0, row 1
		1, 2, 3,
		4, 5, 6,
	}}
	var buf bytes.Buffer
	if err := datasets.WriteIDXImages(&buf, imgs); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", buf.Bytes()[:16])

	back, err := datasets.DecodeIDXImages(&buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Len(), back.H, back.W, back.C)
	fmt.Println(back.At(1))
	fmt.Printf("%.1f\n", back.Float32(0, 1))

	// A truncated file is an error, not a panic.
	_, err = datasets.DecodeIDXImages(bytes.NewReader([]byte{0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2}))
	fmt.Println(err)
	// Output:
	// 00 00 08 03 00 00 00 02 00 00 00 02 00 00 00 03
	// 2 2 3 1
	// [1 2 3 4 5 6]
	// [-1.0 -0.6 1.0 -0.2 0.2 0.6]
	// datasets: idx image data: truncated: header says 9 images of 28x28 (7056 bytes) but only 2 bytes follow; re-download the file or point --data at a directory with the standard idx files
}

// Load the MNIST training set from the copy that the GoMNIST module keeps in
// the Go module cache; no download step is needed.
func ExampleLoadMNIST() {
	train, err := datasets.LoadMNIST("", datasets.Train)
	if err != nil {
		log.Fatal(err)
	}
	m := train.Images
	fmt.Println(train.Name, m.N, m.H, m.W, m.C)
	fmt.Println("first label:", train.ClassNames[train.Labels[0]])
	batch := m.Float32(0, 32) // 32 images scaled to [-1, 1]
	fmt.Println(len(batch))
	// Output:
	// mnist 60000 28 28 1
	// first label: 5
	// 25088
}
