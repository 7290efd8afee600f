package main

import (
	"os"
	"runtime/debug"
)

// pixelPretrainMemoryLimit is the Go runtime's soft memory limit while a pixel-space
// flow is pretrained (1.7 GiB). One U-Net training step at batch 64 keeps about
// 1.6 GB alive at its peak (the convolutions' patch matrices wait for the
// backward pass); with the default GOGC=100 the heap grows to twice the live
// data between collections and the process peaked at 2.9 GB after 20 steps. With
// this limit the collector runs more often near it and the peak stays at 1.8 GB
// (docs/performance.md, "U-Net pretraining memory").
const pixelPretrainMemoryLimit = 1700 << 20

// limitPixelPretrainMemory sets pixelPretrainMemoryLimit, unless GOMEMLIMIT
// already sets a limit (the user's choice wins).
func limitPixelPretrainMemory() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(pixelPretrainMemoryLimit)
}
