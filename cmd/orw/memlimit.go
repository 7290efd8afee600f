package main

import (
	"bufio"
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// minPixelPretrainMemoryLimit is the lowest soft memory limit of the Go runtime
// while a pixel-space flow is pretrained (1.7 GiB). One U-Net training step at
// batch 64 keeps about 1.6 GB alive at its peak (the convolutions' patch
// matrices wait for the backward pass); with the default GOGC=100 the heap grows
// to twice the live data between collections and the process peaks at 3.8 GiB
// in 60 steps, 4.5 GiB over a whole 5,500-step run. At this limit the peak stays near 1.8 GiB, but the collector runs almost
// without pause and a step takes 1.7 times as long (docs/performance.md, "U-Net
// pretraining memory").
const minPixelPretrainMemoryLimit = 1700 << 20

// pixelPretrainMemoryLimit is the soft memory limit for pretraining on a
// machine (or container) with total bytes of memory, 0 when unknown: a third
// of it, and at least minPixelPretrainMemoryLimit. With 14 GiB or more the limit
// lies above the 4.5 GiB the collector reaches on its own, so it costs no time;
// on smaller machines it keeps the process to a third of the memory, and the
// collector works harder the closer that is to 1.7 GiB.
func pixelPretrainMemoryLimit(total uint64) int64 {
	return max(int64(total/3), minPixelPretrainMemoryLimit) // total/3 < 2^63: no overflow
}

// limitPixelPretrainMemory sets pixelPretrainMemoryLimit for this machine's
// memory, unless GOMEMLIMIT already sets a limit (the user's choice wins).
func limitPixelPretrainMemory() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(pixelPretrainMemoryLimit(machineMemory()))
}

// machineMemory is the memory this process may use, in bytes: the smaller of
// the machine's (Linux's /proc/meminfo) and its control group's limit (cgroup
// v2 memory.max or v1 memory.limit_in_bytes); 0 when neither can be read.
func machineMemory() uint64 {
	read := func(path string) []byte {
		b, _ := os.ReadFile(path)
		return b
	}
	total := memTotal(read("/proc/meminfo"))
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if limit := cgroupLimit(read(path)); limit > 0 && (total == 0 || limit < total) {
			total = limit
		}
	}
	return total
}

// memTotal reads MemTotal from the text of /proc/meminfo ("MemTotal:  24683728 kB"),
// in bytes; 0 when it is missing.
func memTotal(meminfo []byte) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "MemTotal:" && fields[2] == "kB" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// cgroupLimit reads a control group's memory limit in bytes; 0 for "max", for
// cgroup v1's "no limit" (a number near 2^63) and for what is not a number.
func cgroupLimit(b []byte) uint64 {
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n >= 1<<60 {
		return 0
	}
	return n
}
