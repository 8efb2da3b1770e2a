package integration

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/podruntime"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/tests/testenv"
)

const (
	// podRuntimeKillGrace is the grace KillPod gives a container that
	// ignores SIGTERM (sleep as PID 1); the kill must take about that long.
	podRuntimeKillGrace = 2 * time.Second
	podRuntimeKillMax   = 10 * time.Second
)

// noObjects has no configmaps or secrets.
type noObjects struct{}

func (noObjects) ConfigMap(_, _ string) (*corev1.ConfigMap, error) { return nil, nil }
func (noObjects) Secret(_, _ string) (*corev1.Secret, error)       { return nil, nil }

// criLine is one line of a CRI log file: <RFC3339Nano> <stream> <P|F> <text>.
var criLine = regexp.MustCompile(`^(\S+) (stdout|stderr) ([PF]) (.*)$`)

// TestPodRuntime runs pods through podruntime against containerd 2.4: a
// hostNetwork pod and a pod on the CNI bridge each run a container that
// echoes its environment and an argument into its CRI log file; then a
// `sleep 3600` container is killed with a grace period and the pods are
// removed without a trace.
func TestPodRuntime(t *testing.T) {
	t.Parallel()
	ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{})
	client := dialCRI(t, ctd)
	logs := t.TempDir()
	m, err := podruntime.New(podruntime.Options{
		CRI: client, Logger: criLogger(t), NodeName: "edge-it", PodLogsDir: logs,
		Objects: noObjects{}, ClusterDomain: "cluster.local",
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawCRI(t, ctd)
	for _, hostNetwork := range []bool{true, false} {
		t.Run(fmt.Sprintf("hostNetwork=%v", hostNetwork), func(t *testing.T) {
			r := podRuntimeRun{t: t, m: m, c: client, raw: raw, logs: logs}
			r.run(hostNetwork)
		})
	}
}

// rawCRI is a plain CRI runtime client, for listing by label.
func rawCRI(t *testing.T, ctd *testenv.Containerd) runtimeapi.RuntimeServiceClient {
	conn, err := grpc.NewClient("unix://"+ctd.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return runtimeapi.NewRuntimeServiceClient(conn)
}

type podRuntimeRun struct {
	t    *testing.T
	m    *podruntime.Manager
	c    *cri.Client
	raw  runtimeapi.RuntimeServiceClient
	logs string
}

func (r podRuntimeRun) run(hostNetwork bool) {
	t, ctx := r.t, r.t.Context()
	pod := podRuntimePod(hostNetwork)
	start := time.Now()
	sbID, ip, err := r.m.CreateSandbox(ctx, pod, 0)
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	t.Logf("sandbox %s, ip %q, in %v", sbID, ip, time.Since(start).Round(time.Millisecond))
	if hostNetwork && ip != "" {
		t.Errorf("hostNetwork sandbox has IP %q, want none", ip)
	}
	if !hostNetwork && !netip.MustParsePrefix(testenv.PodSubnet).Contains(netip.MustParseAddr(ip)) {
		t.Fatalf("pod IP %q not in the CNI subnet %s", ip, testenv.PodSubnet)
	}
	sandbox := runstate.Sandbox{ID: sbID} // IP left empty: StartContainer reads it
	echoID, err := r.m.StartContainer(ctx, podruntime.StartRequest{Pod: pod, Name: "echo", Sandbox: sandbox, HostIP: "192.0.2.10"})
	if err != nil {
		t.Fatalf("StartContainer echo: %v", err)
	}
	r.waitExited(echoID, 0)
	wantIP := ip
	if hostNetwork {
		wantIP = "192.0.2.10"
	}
	r.checkLog(pod, "echo", fmt.Sprintf("greeting=hello pod=%s ip=%s arg=the-arg", pod.Name, wantIP))

	sleepID, err := r.m.StartContainer(ctx, podruntime.StartRequest{Pod: pod, Name: "sleep", Sandbox: sandbox, HostIP: "192.0.2.10"})
	if err != nil {
		t.Fatalf("StartContainer sleep: %v", err)
	}
	r.waitState(sleepID, runtimeapi.ContainerState_CONTAINER_RUNNING)
	rp := r.listed(pod.UID)
	start = time.Now()
	if err := r.m.KillPod(ctx, rp, podRuntimeKillGrace); err != nil {
		t.Fatalf("KillPod: %v", err)
	}
	took := time.Since(start)
	t.Logf("KillPod took %v", took.Round(time.Millisecond))
	if took < podRuntimeKillGrace || took > podRuntimeKillMax {
		t.Errorf("KillPod took %v, want about the %v grace (sleep ignores SIGTERM)", took, podRuntimeKillGrace)
	}
	if st := r.status(sleepID); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 {
		t.Errorf("after KillPod the sleep container is %v with exit code %d, want exited by SIGKILL (137)", st.State, st.ExitCode)
	}
	if err := r.m.RemovePod(ctx, r.listed(pod.UID)); err != nil {
		t.Fatalf("RemovePod: %v", err)
	}
	r.checkGone(pod.UID)
	if err := r.m.RemoveLogs(pod.Namespace, pod.Name, pod.UID); err != nil {
		t.Fatalf("RemoveLogs: %v", err)
	}
	if _, err := os.Stat(podruntime.LogDir(r.logs, pod.Namespace, pod.Name, pod.UID)); !os.IsNotExist(err) {
		t.Errorf("pod log folder after RemoveLogs: %v, want it gone", err)
	}
}

func podRuntimePod(hostNetwork bool) *corev1.Pod {
	name := "rt-pod"
	if hostNetwork {
		name = "rt-host"
	}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name + "-uid")},
		Spec: corev1.PodSpec{
			HostNetwork: hostNetwork,
			Containers: []corev1.Container{
				{
					Name: "echo", Image: testenv.BusyboxImage, ImagePullPolicy: corev1.PullIfNotPresent,
					Command: []string{"sh", "-c", `echo "greeting=$GREETING pod=$POD ip=$IP arg=$1"`, "sh"},
					Args:    []string{"$(ARG)"},
					Env: []corev1.EnvVar{
						{Name: "GREETING", Value: "hello"}, {Name: "ARG", Value: "the-arg"},
						{Name: "POD", ValueFrom: field("metadata.name")}, {Name: "IP", ValueFrom: field("status.podIP")},
					},
				},
				{Name: "sleep", Image: testenv.BusyboxImage, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sleep", "3600"}},
			},
		},
	}
}

func (r podRuntimeRun) status(id string) *runtimeapi.ContainerStatus {
	st, err := r.c.ContainerStatus(r.t.Context(), id)
	if err != nil {
		r.t.Fatalf("ContainerStatus: %v", err)
	}
	return st
}

func (r podRuntimeRun) waitState(id string, state runtimeapi.ContainerState) *runtimeapi.ContainerStatus {
	r.t.Helper()
	var st *runtimeapi.ContainerStatus
	testenv.WaitFor(r.t, criStepTimeout, "container "+id+" "+state.String(), func() error {
		var err error
		if st, err = r.c.ContainerStatus(r.t.Context(), id); err != nil {
			return err
		}
		if st.State != state {
			return fmt.Errorf("state %v", st.State)
		}
		return nil
	})
	return st
}

func (r podRuntimeRun) waitExited(id string, code int32) {
	r.t.Helper()
	if st := r.waitState(id, runtimeapi.ContainerState_CONTAINER_EXITED); st.ExitCode != code {
		r.t.Fatalf("container exited with %d (%s %s), want %d", st.ExitCode, st.Reason, st.Message, code)
	}
}

// checkLog checks that the container's attempt-0 log file, where
// podruntime put it, holds exactly the line want on stdout in CRI format.
func (r podRuntimeRun) checkLog(pod *corev1.Pod, container, want string) {
	t := r.t
	t.Helper()
	path := filepath.Join(podruntime.LogDir(r.logs, pod.Namespace, pod.Name, pod.UID), container, "0.log")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("container log: %v", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 1 {
		t.Fatalf("log %s has %d lines %q, want 1", path, len(lines), lines)
	}
	m := criLine.FindStringSubmatch(lines[0])
	if m == nil || m[2] != "stdout" || m[3] != "F" || m[4] != want {
		t.Fatalf("log line %q, want \"<time> stdout F %s\"", lines[0], want)
	}
	if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
		t.Errorf("log time %q: %v", m[1], err)
	}
}

// listed returns the pod as the runtime lists it.
func (r podRuntimeRun) listed(uid types.UID) *runstate.Pod {
	snap, err := r.c.List(r.t.Context())
	if err != nil {
		r.t.Fatalf("List: %v", err)
	}
	rp := snap.Pods[uid]
	if rp == nil {
		r.t.Fatalf("pod %s not listed", uid)
	}
	return rp
}

// checkGone checks that the runtime holds no sandbox and no container
// labelled with the pod's UID.
func (r podRuntimeRun) checkGone(uid types.UID) {
	ctx, sel := r.t.Context(), map[string]string{runstate.LabelPodUID: string(uid)}
	sbs, err := r.raw.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: sel}})
	if err != nil {
		r.t.Fatalf("ListPodSandbox: %v", err)
	}
	ctrs, err := r.raw.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{LabelSelector: sel}})
	if err != nil {
		r.t.Fatalf("ListContainers: %v", err)
	}
	if len(sbs.Items) > 0 || len(ctrs.Containers) > 0 {
		r.t.Errorf("after RemovePod: %d sandboxes, %d containers of pod %s", len(sbs.Items), len(ctrs.Containers), uid)
	}
}
