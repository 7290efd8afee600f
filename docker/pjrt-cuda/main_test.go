package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/go-xla/installer"
)

func TestRunRefusesUnpinnedVersions(t *testing.T) {
	never := func(string, string, string, bool, installer.VerbosityLevel) error {
		t.Fatal("the installer ran on bad flags")
		return nil
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "-version is required"},
		{[]string{"-version", "latest"}, "not a pin"},
		{[]string{"-version", "0.11.2", "-plugin", "rocm"}, "want cuda13 or cuda12"},
		{[]string{"-version", "0.11.2", "-dir", "lib/go-xla"}, "absolute path"},
		{[]string{"-version", "0.11.2", "extra"}, "unexpected arguments"},
	} {
		err := run(c.args, &bytes.Buffer{}, never)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
}

func TestRunInstallsAndChecksThePlugin(t *testing.T) {
	dir := t.TempDir()
	var got []string
	fake := func(plugin, version, path string, useCache bool, v installer.VerbosityLevel) error {
		got = []string{plugin, version, path}
		if err := os.MkdirAll(filepath.Join(path, "nvidia"), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(path, "nvidia", installer.NVIDIAPJRTPluginFileName), nil, 0o644)
	}
	var log bytes.Buffer
	if err := run([]string{"-version", "0.11.2", "-dir", dir}, &log, fake); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "cuda13 0.11.2 "+dir || !strings.Contains(log.String(), "pjrt_c_api_cuda_plugin.so") {
		t.Errorf("installer called with %q, log %q", got, log.String())
	}

	// An installer that reports success without the plugin file is caught.
	empty := func(string, string, string, bool, installer.VerbosityLevel) error { return nil }
	if err := run([]string{"-version", "0.11.2", "-dir", t.TempDir()}, &log, empty); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("no plugin file after install: error %v", err)
	}
	// The installer's error is passed on with what was being installed.
	broken := func(string, string, string, bool, installer.VerbosityLevel) error { return errors.New("no network") }
	if err := run([]string{"-version", "0.11.2", "-dir", dir}, &log, broken); err == nil || !strings.Contains(err.Error(), "0.11.2") || !strings.Contains(err.Error(), "no network") {
		t.Errorf("installer failure: error %v", err)
	}
}
