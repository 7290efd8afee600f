// Package cluster writes the files that run a sweep (experiment.Sweep) on a
// cluster's own scheduler, one point per task, each task calling
// `orw sweep run` with the sweep and its index: a Slurm job array script,
// and a Kubernetes Indexed Job manifest. The engines retry and requeue the
// tasks; a task that runs again resumes its run directory, and a finished
// point is skipped, so that any number of retries gives the results of one
// uninterrupted sweep.
//
// It is a package of its own so that the experiment layer, which notebooks
// import, does not carry the Kubernetes API types.
package cluster // import "github.com/orwcfm/orwcfm/pkg/experiment/cluster"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/orwcfm/orwcfm/pkg/experiment"
)

// SlurmOptions adjust the job array script of a sweep.
type SlurmOptions struct {
	// Orw is the orw command on the compute nodes ("orw": on PATH).
	Orw string
	// Dir is the directory the tasks run in (--chdir); the sweep's out
	// directory, when relative, is relative to it. It must be on a file
	// system that every node shares.
	Dir string
	// Logs is the directory of the tasks' output files, one per task
	// (slurm-JOB_TASK.out). sbatch does not create it.
	Logs string
	// Parallel bounds the tasks that run at once (0: no bound).
	Parallel int
	// CPUs per task (0: the cluster's default); GOMAXPROCS follows it.
	CPUs int
	// Mem is the memory per task ("8G"; "" for the default).
	Mem string
	// GPUs per task (0: none).
	GPUs int
	// Time is the time limit of a task ("2:00:00"; "" for the default).
	Time string
	// Partition and Account, when set.
	Partition, Account string
}

// slurmValue checks a value written into an #SBATCH line.
var slurmValue = regexp.MustCompile(`^[A-Za-z0-9_.:/%+@=,-]*$`)

// Slurm returns a job array script that runs the sweep's points, one per
// array task: each task runs `orw sweep run - --index $SLURM_ARRAY_TASK_ID`
// with the sweep on its standard input (a here-document of the script, so
// the script is all a cluster needs besides orw). The tasks are marked
// requeueable: when a node fails or a task is preempted, Slurm runs it
// again and it resumes its run directory from its last checkpoint.
func Slurm(s *experiment.Sweep, o SlurmOptions) ([]byte, error) {
	points, err := s.Points()
	if err != nil {
		return nil, err
	}
	grid, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(grid, []byte("\nORW_SWEEP")) {
		return nil, errors.New("the sweep's text holds the script's end marker")
	}
	if o.Orw == "" {
		o.Orw = "orw"
	}
	for name, v := range map[string]string{"--dir": o.Dir, "--logs": o.Logs, "--mem": o.Mem, "--time": o.Time, "--partition": o.Partition, "--account": o.Account} {
		if !slurmValue.MatchString(v) {
			return nil, fmt.Errorf("%s %q: use letters, digits and . _ - / : only (no spaces)", name, v)
		}
	}
	if o.Dir == "" || o.Logs == "" {
		return nil, errors.New("cluster: Slurm needs the directory to run in and the one for the logs")
	}
	if o.Parallel < 0 || o.CPUs < 0 || o.GPUs < 0 {
		return nil, errors.New("cluster: Slurm: negative counts")
	}
	array := fmt.Sprintf("0-%d", len(points)-1)
	if o.Parallel > 0 {
		array += fmt.Sprintf("%%%d", o.Parallel)
	}
	var b bytes.Buffer
	err = slurmScript.Execute(&b, map[string]any{
		"S": s, "N": len(points), "Array": array, "O": o, "Grid": string(grid),
		"Orw": shellQuote(o.Orw), "JobName": "orw-" + experiment.Slug(s.Name),
	})
	return b.Bytes(), err
}

var slurmScript = template.Must(template.New("slurm").Parse(`#!/bin/bash
# Sweep {{.S.Name}}: {{.N}} runs, one per task of this job array. Submit it with
#   sbatch THIS_FILE
# and gather the results with
#   orw collect {{.S.Dir}}
# Each task trains one point (orw sweep run --index $SLURM_ARRAY_TASK_ID). A task
# that is killed (a node fails, the task is preempted) is requeued by Slurm and
# resumes its run directory from its last checkpoint; a finished run is skipped.
#SBATCH --job-name={{.JobName}}
#SBATCH --array={{.Array}}
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --chdir={{.O.Dir}}
#SBATCH --output={{.O.Logs}}/slurm-%A_%a.out
{{- if .O.CPUs}}
#SBATCH --cpus-per-task={{.O.CPUs}}{{end}}
{{- if .O.Mem}}
#SBATCH --mem={{.O.Mem}}{{end}}
{{- if .O.GPUs}}
#SBATCH --gres=gpu:{{.O.GPUs}}{{end}}
{{- if .O.Time}}
#SBATCH --time={{.O.Time}}{{end}}
{{- if .O.Partition}}
#SBATCH --partition={{.O.Partition}}{{end}}
{{- if .O.Account}}
#SBATCH --account={{.O.Account}}{{end}}
set -euo pipefail
{{- if .O.CPUs}}
export GOMAXPROCS="${SLURM_CPUS_PER_TASK:-{{.O.CPUs}}}"{{end}}
echo "orw sweep {{.S.Name}}: task ${SLURM_ARRAY_TASK_ID} of job ${SLURM_ARRAY_JOB_ID} on $(hostname), start ${SLURM_RESTART_COUNT:-0}"
exec {{.Orw}} sweep run - --index "${SLURM_ARRAY_TASK_ID}" <<'ORW_SWEEP'
{{.Grid}}
ORW_SWEEP
`))

// shellQuote quotes s for a POSIX shell unless it is plainly safe.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
