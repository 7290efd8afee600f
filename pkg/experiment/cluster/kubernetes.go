package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/orwcfm/orwcfm/pkg/experiment"
)

// KubernetesOptions adjust the manifest of a sweep.
type KubernetesOptions struct {
	// Image is the container image (DefaultImage when empty): one built
	// from docker/Dockerfile, with orw at Orw and WorkDir as its working
	// directory.
	Image string
	// Orw is the orw command in the image (DefaultOrw when empty).
	Orw string
	// WorkDir is the container's working directory (DefaultWorkDir); the
	// sweep's out directory, when relative, is relative to it.
	WorkDir string
	// Claim names the PersistentVolumeClaim that holds the run directories
	// (DefaultClaim); it must allow ReadWriteMany when pods share nodes
	// unevenly, since every task writes its own run into it.
	Claim string
	// Mount is where the claim is mounted (DefaultMount); the sweep's out
	// directory must lie inside it.
	Mount string
	// Namespace of the objects ("" for the one kubectl uses).
	Namespace string
	// Parallelism bounds the pods that run at once (0: all points).
	Parallelism int
	// Retries is the per-index backoff limit: how often a point whose pod
	// failed is tried again (DefaultRetries when negative). Pods
	// disrupted by the cluster (preemption, eviction, a node drained) are
	// not counted.
	Retries int
	// CPU and Memory are each pod's requests and limits ("2", "8Gi"; ""
	// for none); GPUs its nvidia.com/gpu limit (0: none).
	CPU, Memory string
	GPUs        int
}

// Defaults of KubernetesOptions.
const (
	DefaultImage   = "orwcfm:cpu"
	DefaultOrw     = "/orwcfm/bin/orw"
	DefaultWorkDir = "/orwcfm"
	DefaultClaim   = "orwcfm-runs"
	DefaultMount   = "/orwcfm/runs"
	DefaultRetries = 3
)

// gridMount is where the ConfigMap with the sweep is mounted.
const gridMount = "/etc/orw-sweep"

// Kubernetes returns the manifest of a sweep: a ConfigMap holding the
// sweep (grid.json) and an Indexed Job (completionMode: Indexed) with one
// completion per point, whose pods run `orw sweep run grid.json`, which
// reads its point from JOB_COMPLETION_INDEX. The run directories are on a
// shared PersistentVolumeClaim; each index is retried up to Retries times
// (backoffLimitPerIndex) and pods disrupted by the cluster are replaced
// without counting as failures (podFailurePolicy). Applied again after a
// change of the sweep, it needs the old Job deleted first (a Job's pod
// template cannot change).
func Kubernetes(s *experiment.Sweep, o KubernetesOptions) ([]byte, error) {
	points, err := s.Points()
	if err != nil {
		return nil, err
	}
	o = o.withDefaults()
	out, err := o.runsDir(s)
	if err != nil {
		return nil, err
	}
	n := int32(len(points))
	par := n
	if o.Parallelism > 0 && int32(o.Parallelism) < n {
		par = int32(o.Parallelism)
	}
	res, err := resources(o)
	if err != nil {
		return nil, err
	}
	grid, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	name := kubeName(s.Name)
	labels := map[string]string{"app.kubernetes.io/name": "orwcfm", "app.kubernetes.io/component": "sweep", "orwcfm/sweep": name}
	meta := metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels}
	cm := corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta,
		Data:       map[string]string{"grid.json": string(grid) + "\n"},
	}
	job := indexedJob(o, meta, n, par, res)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Sweep %s: %d runs as a Kubernetes Indexed Job, one pod per point.\n", s.Name, n)
	fmt.Fprintf(&b, "# Needs the PersistentVolumeClaim %q (ReadWriteMany) for the run directories.\n", o.Claim)
	fmt.Fprintf(&b, "#   kubectl apply -f THIS_FILE\n#   then, in a pod that mounts the claim: orw collect %s\n", path.Join(relTo(out, o.WorkDir), s.Name))
	for i, obj := range []any{cm, job} {
		y, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(dropEmpty(y))
	}
	return b.Bytes(), nil
}

// withDefaults is o with the defaults in place of its empty fields (and of
// a negative Retries).
func (o KubernetesOptions) withDefaults() KubernetesOptions {
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.Orw == "" {
		o.Orw = DefaultOrw
	}
	if o.WorkDir == "" {
		o.WorkDir = DefaultWorkDir
	}
	if o.Claim == "" {
		o.Claim = DefaultClaim
	}
	if o.Mount == "" {
		o.Mount = DefaultMount
	}
	if o.Retries < 0 {
		o.Retries = DefaultRetries
	}
	return o
}

// runsDir checks the paths and names of o and returns the absolute
// directory of the sweep's runs in the container, which must lie in the
// shared volume.
func (o KubernetesOptions) runsDir(s *experiment.Sweep) (string, error) {
	if !path.IsAbs(o.WorkDir) || !path.IsAbs(o.Mount) {
		return "", errors.New("the working directory and the mount path must be absolute")
	}
	out := s.OutDir()
	if !path.IsAbs(out) {
		out = path.Join(o.WorkDir, out)
	}
	if rel := strings.TrimPrefix(path.Clean(out), path.Clean(o.Mount)); rel == path.Clean(out) || (rel != "" && !strings.HasPrefix(rel, "/")) {
		return "", fmt.Errorf("the sweep's runs would be in %s, outside the shared volume at %s: set the sweep's out to a directory under %s", out, o.Mount, relTo(o.Mount, o.WorkDir))
	}
	for _, e := range validation.IsDNS1123Subdomain(o.Claim) {
		return "", fmt.Errorf("claim %q: %s", o.Claim, e)
	}
	if o.Namespace != "" {
		for _, e := range validation.IsDNS1123Label(o.Namespace) {
			return "", fmt.Errorf("namespace %q: %s", o.Namespace, e)
		}
	}
	return out, nil
}

// indexedJob is the sweep's Indexed Job of n completions, par at once, each
// pod running orw sweep run on the ConfigMap's grid.json (the ConfigMap is
// named meta.Name) with the claim mounted.
func indexedJob(o KubernetesOptions, meta metav1.ObjectMeta, n, par int32, res corev1.ResourceRequirements) batchv1.Job {
	retries := int32(o.Retries)
	indexed := batchv1.IndexedCompletion
	return batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			CompletionMode:       &indexed,
			Completions:          &n,
			Parallelism:          &par,
			BackoffLimitPerIndex: &retries,
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{
					Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
				}},
			}}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: meta.Labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name:         "orw",
						Image:        o.Image,
						WorkingDir:   o.WorkDir,
						Command:      []string{o.Orw, "sweep", "run", path.Join(gridMount, "grid.json")},
						Resources:    res,
						VolumeMounts: []corev1.VolumeMount{{Name: "runs", MountPath: o.Mount}, {Name: "sweep", MountPath: gridMount, ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{
						{Name: "runs", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: o.Claim}}},
						{Name: "sweep", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: meta.Name}}}},
					},
				},
			},
		},
	}
}

// resources are a pod's requests and limits.
func resources(o KubernetesOptions) (corev1.ResourceRequirements, error) {
	var r corev1.ResourceRequirements
	set := func(name corev1.ResourceName, v string, limitOnly bool) error {
		if v == "" {
			return nil
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return fmt.Errorf("%s %q: %v", name, v, err)
		}
		if r.Limits == nil {
			r.Limits = corev1.ResourceList{}
		}
		r.Limits[name] = q
		if !limitOnly {
			if r.Requests == nil {
				r.Requests = corev1.ResourceList{}
			}
			r.Requests[name] = q
		}
		return nil
	}
	if err := set(corev1.ResourceCPU, o.CPU, false); err != nil {
		return r, err
	}
	if err := set(corev1.ResourceMemory, o.Memory, false); err != nil {
		return r, err
	}
	if o.GPUs < 0 {
		return r, errors.New("a negative GPU count")
	}
	if o.GPUs > 0 {
		if err := set("nvidia.com/gpu", fmt.Sprint(o.GPUs), true); err != nil {
			return r, err
		}
	}
	return r, nil
}

// kubeName turns a sweep name into an object name: a DNS label of lower
// case letters, digits and '-', "orw-sweep-NAME", at most 52 characters
// (a Job's name leaves room for the pods' suffixes).
func kubeName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(experiment.Slug(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := "orw-sweep-" + strings.Trim(b.String(), "-")
	if len(s) > 52 {
		s = s[:52]
	}
	return strings.TrimRight(s, "-")
}

// relTo is p relative to dir when inside it, else p.
func relTo(p, dir string) string {
	p, dir = path.Clean(p), path.Clean(dir)
	if strings.HasPrefix(p, dir+"/") {
		return strings.TrimPrefix(p, dir+"/")
	}
	return p
}

// dropEmpty removes the empty fields that the API types always write
// ("creationTimestamp: null", "status: {}", "resources: {}").
func dropEmpty(y []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(y, []byte("\n")) {
		t := strings.TrimSpace(string(line))
		if t == "creationTimestamp: null" || t == "status: {}" || t == "resources: {}" {
			continue
		}
		out = append(out, line)
	}
	return bytes.Join(out, []byte("\n"))
}
