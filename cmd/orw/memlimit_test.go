package main

import "testing"

func TestPixelPretrainMemoryLimit(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		total uint64
		want  int64
	}{
		{0, minPixelPretrainMemoryLimit},       // unknown: the floor
		{4 * gib, minPixelPretrainMemoryLimit}, // a third is 1.33 GiB, below the floor
		{6 * gib, 2 * gib},
		{24 * gib, 8 * gib},
		{1<<64 - 1, (1<<64 - 1) / 3},
	} {
		if got := pixelPretrainMemoryLimit(c.total); got != c.want {
			t.Errorf("pixelPretrainMemoryLimit(%d) = %d, want %d", c.total, got, c.want)
		}
	}
}

func TestMemTotalAndCgroupLimit(t *testing.T) {
	meminfo := "MemTotal:       24683728 kB\nMemFree:        20447532 kB\n"
	if got, want := memTotal([]byte(meminfo)), uint64(24683728)<<10; got != want {
		t.Errorf("memTotal = %d, want %d", got, want)
	}
	if got := memTotal([]byte("MemFree: 1 kB\n")); got != 0 {
		t.Errorf("memTotal without MemTotal = %d, want 0", got)
	}
	for in, want := range map[string]uint64{
		"8589934592\n":          8 << 30,
		"max\n":                 0, // cgroup v2 without a limit
		"9223372036854771712\n": 0, // cgroup v1 without a limit
		"":                      0, // no such file
	} {
		if got := cgroupLimit([]byte(in)); got != want {
			t.Errorf("cgroupLimit(%q) = %d, want %d", in, got, want)
		}
	}
	if m := machineMemory(); m != 0 && m < 64<<20 {
		t.Errorf("machineMemory() = %d bytes: implausibly small", m)
	}
}
