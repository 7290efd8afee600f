// Package testhooks holds the hooks that tests set to stop a process at a
// precise moment (to kill it there); production code only calls them when set.
package testhooks

// AtomicWrite, when set, is called at two moments of ckpt.WriteFileAtomic:
// "written" (the temporary file is filled, not yet synced or renamed) and
// "renamed" (path holds the new file, its directory is not yet synced). The
// crash tests stop a process there to kill it mid-write.
var AtomicWrite func(stage, path string)
