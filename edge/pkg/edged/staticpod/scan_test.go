package staticpod

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

const webYAML = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: nginx
    image: nginx:1.27
    ports:
    - containerPort: 80
    livenessProbe:
      httpGet: {port: 80}
    resources:
      limits: {cpu: 200m}
  - name: sidecar
    image: busybox
    env:
    - name: POD
      valueFrom:
        fieldRef: {fieldPath: metadata.name}
  volumes:
  - name: scratch
  - name: host
    hostPath: {path: /var/log}
`

const dbJSON = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"db","namespace":"data"},
 "spec":{"restartPolicy":"OnFailure","containers":[{"name":"pg","image":"postgres@sha256:abc"}]}}`

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}

func TestScanGoodFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"web.yaml": webYAML, "db.json": dbJSON})
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	byFile, errs := scan(dir, "Edge-A", nil, now)
	if len(errs) != 0 {
		t.Fatalf("errs %v", errs)
	}
	pods := sorted(byFile)
	if got, want := names(pods), []string{"data/db-edge-a", "default/web-edge-a"}; !slices.Equal(got, want) {
		t.Fatalf("pods %v, want %v", got, want)
	}
	web := byFile["web.yaml"]
	if web.Spec.NodeName != "Edge-A" || web.Labels["app"] != "web" {
		t.Errorf("nodeName %q labels %v", web.Spec.NodeName, web.Labels)
	}
	if len(web.UID) != 64 || web.Annotations[AnnotationHash] != string(web.UID) ||
		web.Annotations[AnnotationSource] != "file" || web.Annotations[AnnotationSeen] != "2030-01-02T03:04:05Z" {
		t.Errorf("uid %q annotations %v", web.UID, web.Annotations)
	}
	if !IsStatic(web) || IsMirror(web) {
		t.Errorf("IsStatic %v IsMirror %v", IsStatic(web), IsMirror(web))
	}
	if web.UID == byFile["db.json"].UID {
		t.Error("two manifests share a UID")
	}
	tol := web.Spec.Tolerations
	if len(tol) != 1 || tol[0].Operator != corev1.TolerationOpExists || tol[0].Effect != corev1.TaintEffectNoExecute || tol[0].Key != "" {
		t.Errorf("tolerations %+v", tol)
	}
	if web.Status.Phase != corev1.PodPending {
		t.Errorf("phase %q", web.Status.Phase)
	}
}

func TestScanDefaults(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"web.yaml": webYAML, "db.json": dbJSON})
	byFile, errs := scan(dir, "edge-a", nil, time.Now())
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	web, db := byFile["web.yaml"], byFile["db.json"]
	s := web.Spec
	if s.RestartPolicy != corev1.RestartPolicyAlways || s.DNSPolicy != corev1.DNSClusterFirst ||
		*s.TerminationGracePeriodSeconds != 30 || s.SchedulerName != "default-scheduler" ||
		s.SecurityContext == nil || !*s.EnableServiceLinks {
		t.Errorf("pod defaults: %+v", s)
	}
	if db.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q overwritten", db.Spec.RestartPolicy)
	}
	nginx, side, pg := s.Containers[0], s.Containers[1], db.Spec.Containers[0]
	for c, want := range map[*corev1.Container]corev1.PullPolicy{&nginx: corev1.PullIfNotPresent, &side: corev1.PullAlways, &pg: corev1.PullIfNotPresent} {
		if c.ImagePullPolicy != want {
			t.Errorf("%s (%s) pull policy %q, want %q", c.Name, c.Image, c.ImagePullPolicy, want)
		}
	}
	if nginx.TerminationMessagePath != "/dev/termination-log" || nginx.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("termination message %q %q", nginx.TerminationMessagePath, nginx.TerminationMessagePolicy)
	}
	if nginx.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("port protocol %q", nginx.Ports[0].Protocol)
	}
	p := nginx.LivenessProbe
	if p.PeriodSeconds != 10 || p.TimeoutSeconds != 1 || p.SuccessThreshold != 1 || p.FailureThreshold != 3 ||
		p.HTTPGet.Path != "/" || p.HTTPGet.Scheme != corev1.URISchemeHTTP {
		t.Errorf("probe %+v", p)
	}
	if r := nginx.Resources.Requests[corev1.ResourceCPU]; r.Cmp(resource.MustParse("200m")) != 0 {
		t.Errorf("cpu request %v, want the limit", r)
	}
	if side.Env[0].ValueFrom.FieldRef.APIVersion != "v1" {
		t.Errorf("fieldRef %+v", side.Env[0].ValueFrom.FieldRef)
	}
	if v := s.Volumes; v[0].EmptyDir == nil || v[1].HostPath.Type == nil || *v[1].HostPath.Type != corev1.HostPathUnset {
		t.Errorf("volumes %+v", v)
	}
}

func TestPullPolicy(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"busybox":                         corev1.PullAlways,
		"busybox:latest":                  corev1.PullAlways,
		"registry:5000/busybox":           corev1.PullAlways,
		"registry:5000/busybox:1.36":      corev1.PullIfNotPresent,
		"busybox@sha256:abcd":             corev1.PullIfNotPresent,
		"busybox:latest@sha256:abcd":      corev1.PullIfNotPresent,
		"docker.io/library/busybox:1.36":  corev1.PullIfNotPresent,
		"localhost:5000/team/app":         corev1.PullAlways,
		"localhost:5000/team/app:v2-rc.1": corev1.PullIfNotPresent,
	} {
		if got := pullPolicy(image); got != want {
			t.Errorf("pullPolicy(%q) = %q, want %q", image, got, want)
		}
	}
}

// TestScanStable: the same files give the same names and UIDs in another
// scan (an edgecore restart), and the seen time of an unchanged file is
// kept; a changed file gets a new UID and seen time.
func TestScanStable(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"web.yaml": webYAML})
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	first, _ := scan(dir, "edge-a", nil, t0)
	restart, _ := scan(dir, "edge-a", nil, t0.Add(time.Hour))
	if first["web.yaml"].UID != restart["web.yaml"].UID || first["web.yaml"].Name != restart["web.yaml"].Name {
		t.Errorf("restart changed the pod: %s/%s vs %s/%s", first["web.yaml"].Name, first["web.yaml"].UID, restart["web.yaml"].Name, restart["web.yaml"].UID)
	}
	again, _ := scan(dir, "edge-a", first, t0.Add(time.Minute))
	if got := again["web.yaml"].Annotations[AnnotationSeen]; got != "2030-01-01T00:00:00Z" {
		t.Errorf("seen %s after an unchanged scan, want the first", got)
	}
	other, _ := scan(dir, "edge-b", nil, t0)
	if other["web.yaml"].UID == first["web.yaml"].UID {
		t.Error("the UID does not depend on the node")
	}
	writeFiles(t, dir, map[string]string{"web.yaml": strings.Replace(webYAML, "nginx:1.27", "nginx:1.28", 1)})
	changed, errs := scan(dir, "edge-a", again, t0.Add(2*time.Minute))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if p := changed["web.yaml"]; p.UID == first["web.yaml"].UID || p.Annotations[AnnotationSeen] != "2030-01-01T00:02:00Z" ||
		p.Spec.Containers[0].Image != "nginx:1.28" {
		t.Errorf("changed file: uid %s seen %s image %s", p.UID, p.Annotations[AnnotationSeen], p.Spec.Containers[0].Image)
	}
}

func TestScanIgnoredFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"web.yaml":      webYAML,
		".hidden.yaml":  webYAML,
		"web.yaml.swp":  "garbage",
		"README":        "not a manifest",
		"web.yaml~":     webYAML,
		"notes.txt":     webYAML,
		"db.YML":        strings.Replace(webYAML, "name: web", "name: db", 1),
		".#lockfile.js": "x",
	})
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, filepath.Join(dir, "sub.yaml"), map[string]string{"inner.yaml": webYAML})
	pods, errs := Scan(dir, "edge-a", nil)
	if len(errs) != 0 {
		t.Errorf("errs %v", errs)
	}
	if got, want := names(pods), []string{"default/db-edge-a", "default/web-edge-a"}; !slices.Equal(got, want) {
		t.Errorf("pods %v, want %v", got, want)
	}
}

func TestScanMissingFolder(t *testing.T) {
	pods, errs := Scan(filepath.Join(t.TempDir(), "absent"), "edge-a", nil)
	if len(pods) != 0 || len(errs) != 0 {
		t.Errorf("pods %v errs %v, want none", names(pods), errs)
	}
}

func TestScanBadFiles(t *testing.T) {
	bad := map[string]struct{ content, says string }{
		"malformed.yaml": {"apiVersion: v1\nkind: Pod\nmetadata: [unclosed", "malformed.yaml"},
		"unknown.yaml":   {strings.Replace(webYAML, "  labels:", "  labelz:", 1), `unknown field "labelz"`},
		"kind.yaml":      {strings.Replace(webYAML, "kind: Pod", "kind: Deployment", 1), `kind "Deployment"`},
		"version.yaml":   {strings.Replace(webYAML, "apiVersion: v1", "apiVersion: v2", 1), `apiVersion "v2"`},
		"name.yaml":      {strings.Replace(webYAML, "name: web", "name: Web_Server", 1), `pod name "Web_Server-edge-a"`},
		"noname.yaml":    {strings.Replace(webYAML, "name: web", "generateName: web", 1), "metadata.name is empty"},
		"ns.yaml":        {strings.Replace(webYAML, "name: web", "name: w2\n  namespace: Bad.NS", 1), `namespace "Bad.NS"`},
		"two.yaml":       {webYAML + "---\n" + webYAML, "more than one YAML document"},
		"empty.yaml":     {"", `apiVersion "" kind ""`},
		"nocont.yaml":    {"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}\n", "spec.containers is empty"},
		"dupcont.yaml":   {strings.Replace(webYAML, "name: sidecar", "name: nginx", 1), `container name "nginx" is used twice`},
		"noimage.yaml":   {strings.Replace(webYAML, "image: busybox", "image: ''", 1), `container "sidecar" has no image`},
		"dup.yaml":       {webYAML + "# same pod, another file\n", "already defined by"},
	}
	for file, tt := range bad {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"a-web.yaml": webYAML, file: tt.content})
			pods, errs := Scan(dir, "edge-a", nil)
			if got := names(pods); !slices.Equal(got, []string{"default/web-edge-a"}) {
				t.Errorf("pods %v, want the good file's only", got)
			}
			if len(errs) != 1 {
				t.Fatalf("errs %v, want one", errs)
			}
			msg := errs[0].Error()
			if !strings.Contains(msg, file) || !strings.Contains(msg, tt.says) {
				t.Errorf("error %q does not name %s and say %q", msg, file, tt.says)
			}
		})
	}
}

// TestScanBadFileKeepsPrevious: a file that breaks keeps the pod of its
// last good version; removing it removes the pod.
func TestScanBadFileKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"web.yaml": webYAML})
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	good, errs := scan(dir, "edge-a", nil, t0)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	writeFiles(t, dir, map[string]string{"web.yaml": strings.Replace(webYAML, "containers:", "containerz:", 1)})
	kept, errs := scan(dir, "edge-a", good, t0.Add(time.Minute))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "web.yaml") || !strings.Contains(errs[0].Error(), "keeping the pod") ||
		!errors.Is(errs[0], ErrManifest) {
		t.Errorf("errs %v", errs)
	}
	if kept["web.yaml"] != good["web.yaml"] {
		t.Errorf("kept %v, want the previous pod", kept["web.yaml"])
	}
	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	gone, errs := scan(dir, "edge-a", kept, t0.Add(2*time.Minute))
	if len(gone) != 0 || len(errs) != 0 {
		t.Errorf("after removal: pods %v errs %v", gone, errs)
	}
}

// TestScanUnreadableFolder: a folder that cannot be read (here a file in
// its place) keeps the last scan's pods, with an error.
func TestScanUnreadableFolder(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"web.yaml": webYAML})
	prev, errs := scan(dir, "edge-a", nil, time.Now())
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	notDir := filepath.Join(dir, "web.yaml")
	kept, errs := scan(notDir, "edge-a", prev, time.Now())
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "keeping its pods") {
		t.Errorf("errs %v", errs)
	}
	if len(kept) != 1 || kept["web.yaml"] != prev["web.yaml"] {
		t.Errorf("kept %v, want the last scan's pods", kept)
	}
}
