package cluster

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/orwcfm/orwcfm/pkg/experiment"
)

const grid = `
name: τ sweep
out: runs/sweeps
task: toy2d
steps: 20
seed: [1, 2]
tau: [0.5, 1, 2]
alpha: [0, 0.1]
`

func sweep(t *testing.T) *experiment.Sweep {
	t.Helper()
	s, err := experiment.ParseSweep([]byte(grid))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// decodeStrict decodes a manifest's documents with the API machinery's
// strict decoder, which rejects unknown and duplicate fields and checks
// apiVersion and kind against the scheme.
func decodeStrict(t *testing.T, manifest []byte) []runtime.Object {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := batchv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	var objs []runtime.Object
	for i, doc := range bytes.Split(manifest, []byte("\n---\n")) {
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("document %d does not decode strictly: %v\n%s", i, err, doc)
		}
		objs = append(objs, obj)
	}
	return objs
}

func TestKubernetesManifest(t *testing.T) {
	s := sweep(t)
	m, err := Kubernetes(s, KubernetesOptions{Parallelism: 4, Retries: -1, CPU: "2", Memory: "4Gi", GPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	objs := decodeStrict(t, m)
	if len(objs) != 2 {
		t.Fatalf("%d objects", len(objs))
	}
	cm, ok := objs[0].(*corev1.ConfigMap)
	if !ok {
		t.Fatalf("first object is a %T", objs[0])
	}
	job, ok := objs[1].(*batchv1.Job)
	if !ok {
		t.Fatalf("second object is a %T", objs[1])
	}
	name := "orw-sweep-tau-sweep"
	if job.Name != name || cm.Name != name {
		t.Errorf("names %q, %q, want %q", job.Name, cm.Name, name)
	}
	if errs := validation.IsDNS1123Label(job.Name); len(errs) > 0 {
		t.Errorf("job name: %v", errs)
	}
	sp := job.Spec
	if sp.CompletionMode == nil || *sp.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v", sp.CompletionMode)
	}
	if sp.Completions == nil || *sp.Completions != 12 || sp.Parallelism == nil || *sp.Parallelism != 4 {
		t.Errorf("completions %v, parallelism %v", sp.Completions, sp.Parallelism)
	}
	if sp.BackoffLimitPerIndex == nil || *sp.BackoffLimitPerIndex != DefaultRetries {
		t.Errorf("backoffLimitPerIndex %v", sp.BackoffLimitPerIndex)
	}
	if sp.PodFailurePolicy == nil || sp.PodFailurePolicy.Rules[0].Action != batchv1.PodFailurePolicyActionIgnore ||
		sp.PodFailurePolicy.Rules[0].OnPodConditions[0].Type != corev1.DisruptionTarget {
		t.Errorf("podFailurePolicy %+v", sp.PodFailurePolicy)
	}
	pod := sp.Template.Spec
	// backoffLimitPerIndex and podFailurePolicy need restartPolicy Never.
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("restartPolicy %q, %d containers", pod.RestartPolicy, len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != DefaultImage || c.WorkingDir != DefaultWorkDir {
		t.Errorf("image %q workdir %q", c.Image, c.WorkingDir)
	}
	if want := []string{DefaultOrw, "sweep", "run", "/etc/orw-sweep/grid.json"}; strings.Join(c.Command, " ") != strings.Join(want, " ") {
		t.Errorf("command %q", c.Command)
	}
	if q := c.Resources.Limits["nvidia.com/gpu"]; q.Value() != 1 {
		t.Errorf("gpu limit %v", c.Resources.Limits)
	}
	if q := c.Resources.Requests[corev1.ResourceMemory]; q.String() != "4Gi" {
		t.Errorf("memory request %v", q.String())
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	if mounts["runs"] != DefaultMount || mounts["sweep"] != "/etc/orw-sweep" {
		t.Errorf("mounts %v", mounts)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if pvc := vols["runs"].PersistentVolumeClaim; pvc == nil || pvc.ClaimName != DefaultClaim {
		t.Errorf("runs volume %+v", vols["runs"])
	}
	if cmv := vols["sweep"].ConfigMap; cmv == nil || cmv.Name != name {
		t.Errorf("sweep volume %+v", vols["sweep"])
	}
	// The ConfigMap's grid is the sweep, point for point.
	back, err := experiment.ParseSweep([]byte(cm.Data["grid.json"]))
	if err != nil {
		t.Fatal(err)
	}
	p1, err := s.Points()
	if err != nil {
		t.Fatal(err)
	}
	p2, err := back.Points()
	if err != nil || len(p1) != len(p2) {
		t.Fatalf("grid.json: %d points, %v", len(p2), err)
	}
	for i := range p1 {
		if p1[i].Run.Dir != p2[i].Run.Dir {
			t.Errorf("point %d: %s, grid.json %s", i, p1[i].Run.Dir, p2[i].Run.Dir)
		}
	}
	// The decoder is strict: an unknown field is an error.
	bad := bytes.Replace(m, []byte("completionMode: Indexed"), []byte("completionMode: Indexed\n  completionsMode: Indexed"), 1)
	scheme := runtime.NewScheme()
	_ = batchv1.AddToScheme(scheme)
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	docs := bytes.Split(bad, []byte("\n---\n"))
	if _, _, err := dec.Decode(docs[1], nil, nil); err == nil || !strings.Contains(err.Error(), "completionsMode") {
		t.Errorf("an unknown field decoded: %v", err)
	}
}

func TestKubernetesOptions(t *testing.T) {
	s := sweep(t)
	m, err := Kubernetes(s, KubernetesOptions{Image: "registry.example/orwcfm:gpu", Claim: "shared", Namespace: "ml", Retries: 0})
	if err != nil {
		t.Fatal(err)
	}
	job := decodeStrict(t, m)[1].(*batchv1.Job)
	if job.Namespace != "ml" || job.Spec.Template.Spec.Containers[0].Image != "registry.example/orwcfm:gpu" ||
		*job.Spec.BackoffLimitPerIndex != 0 || *job.Spec.Parallelism != 12 ||
		job.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "shared" {
		t.Errorf("options not applied: %+v", job.Spec)
	}
	s.Out = "/data/elsewhere"
	if _, err := Kubernetes(s, KubernetesOptions{}); err == nil || !strings.Contains(err.Error(), "outside the shared volume at /orwcfm/runs") {
		t.Errorf("out outside the volume: %v", err)
	}
	s.Out = "/orwcfm/runs/x"
	if _, err := Kubernetes(s, KubernetesOptions{}); err != nil {
		t.Errorf("an absolute out inside the volume: %v", err)
	}
	s.Out = "runs-other"
	if _, err := Kubernetes(s, KubernetesOptions{}); err == nil {
		t.Error("runs-other is not inside runs")
	}
	s.Out = ""
	if _, err := Kubernetes(s, KubernetesOptions{Memory: "lots"}); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("a bad quantity: %v", err)
	}
	for _, n := range []string{"a", "Σ!", strings.Repeat("long-name-", 10), "-x-"} {
		k := kubeName(n)
		if errs := validation.IsDNS1123Label(k); len(errs) > 0 || len(k) > 52 {
			t.Errorf("kubeName(%q) = %q: %v", n, k, errs)
		}
	}
}

func TestSlurmScript(t *testing.T) {
	s := sweep(t)
	script, err := Slurm(s, SlurmOptions{Orw: "/opt/orw bin/orw", Dir: "/home/me/proj", Logs: "/home/me/proj/logs", Parallel: 3, CPUs: 4, Mem: "8G", GPUs: 1, Time: "1:00:00", Partition: "gpu"})
	if err != nil {
		t.Fatal(err)
	}
	text := string(script)
	for _, want := range []string{
		"#SBATCH --array=0-11%3\n", "#SBATCH --requeue\n", "#SBATCH --chdir=/home/me/proj\n",
		"#SBATCH --output=/home/me/proj/logs/slurm-%A_%a.out\n", "#SBATCH --cpus-per-task=4\n", "#SBATCH --mem=8G\n",
		"#SBATCH --gres=gpu:1\n", "#SBATCH --time=1:00:00\n", "#SBATCH --partition=gpu\n",
		`exec '/opt/orw bin/orw' sweep run - --index "${SLURM_ARRAY_TASK_ID}" <<'ORW_SWEEP'`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the script lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "--account") {
		t.Error("an empty account written")
	}
	// The here-document is the sweep.
	_, rest, _ := strings.Cut(text, "<<'ORW_SWEEP'\n")
	body, _, ok := strings.Cut(rest, "\nORW_SWEEP\n")
	if !ok {
		t.Fatal("no end of the here-document")
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(body), &obj); err != nil || obj["name"] != "τ sweep" {
		t.Fatalf("here-document %q: %v", body, err)
	}
	// bash reads the script.
	if bash, err := exec.LookPath("bash"); err == nil {
		f := filepath.Join(t.TempDir(), "job.sh")
		if err := os.WriteFile(f, script, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bash, "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v: %s", err, out)
		}
	}
	if _, err := Slurm(s, SlurmOptions{Dir: "/x", Logs: "/x/l", Time: "1 hour"}); err == nil || !strings.Contains(err.Error(), "--time") {
		t.Errorf("a time with a space: %v", err)
	}
}
