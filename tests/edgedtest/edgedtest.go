// Package edgedtest runs Edged the way edgecore does — on a beehive bus,
// fed by the real MetaManager over a real SQLite store, against a real
// containerd — with the cloud replaced by a hub module the test drives:
// objects go in through MetaManager.Apply (the path the cloud's sync
// takes), pod statuses come out where the hub would send them, and the
// hub answers Edged's requests (the final delete of a pod, mirror pods)
// by applying their effect, as EdgeController and the apiserver would.
//
// Integration tests and the edged benchmarks share it.
package edgedtest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edged"
	"github.com/tether-edge/tether/edge/pkg/edged/admit"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
	"github.com/tether-edge/tether/tests/testenv"
)

// hubName stands in for edgehub on the bus.
const hubName = "edgehub"

// NodeName is the node Edged runs as.
const NodeName = "edge-test"

// Options configure Start.
type Options struct {
	// Containerd runs the pods; required.
	Containerd *testenv.Containerd
	// Dir holds the store, Edged's folders and the static pod folder;
	// empty means a new temp folder. Pass an earlier Harness's Dir to
	// start again over what it left (a restart of edgecore).
	Dir string
	// Logger; nil writes to Dir/edged.log.
	Logger *slog.Logger
	// Allocatable is the node's; nil means 8 CPUs, 16 GiB, 110 pods.
	Allocatable corev1.ResourceList
	// Edit, when set, changes Edged's config before it starts.
	Edit func(*config.Edged)
}

// Harness is a running Edged with its store and hub.
type Harness struct {
	Dir    string
	Edged  *edged.Edged
	Meta   *metamanager.Manager
	Hub    *Hub
	Config config.Edged

	store  *metamanager.Store
	cancel context.CancelFunc
	done   chan error
	stop   sync.Once
	logF   *os.File
}

// T is what the harness needs of a test or benchmark: testenv's.
type T = testenv.T

// Start runs Edged and waits until it has reached the runtime.
func Start(t T, o Options) *Harness {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	h := &Harness{Dir: o.Dir, done: make(chan error, 1)}
	log := o.Logger
	if log == nil {
		f, err := os.OpenFile(filepath.Join(o.Dir, "edged.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatalf("edged log: %v", err)
		}
		h.logF = f
		log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := config.DefaultEdgeCore().Edged
	cfg.RuntimeEndpoint = "unix://" + o.Containerd.Endpoint
	cfg.RootDir = filepath.Join(o.Dir, "root")
	cfg.PodLogsDir = filepath.Join(o.Dir, "logs")
	cfg.StaticPodPath = filepath.Join(o.Dir, "manifests")
	cfg.StaticPodScanPeriod = config.Duration{Duration: 200 * time.Millisecond}
	cfg.ImageGC.Period = config.Duration{Duration: time.Hour}
	cfg.ContainerGC.Period = config.Duration{Duration: time.Hour}
	if o.Edit != nil {
		o.Edit(&cfg)
	}
	h.Config = cfg
	if err := os.MkdirAll(cfg.StaticPodPath, 0o755); err != nil {
		t.Fatalf("static pod folder: %v", err)
	}
	store, err := metamanager.OpenStore(metamanager.StoreOptions{Path: filepath.Join(o.Dir, "edgecore.db"), Logger: log})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	h.store = store
	bus, err := beehive.New(beehive.Options{Logger: log, QueueSize: 1024, ShutdownTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("bus: %v", err)
	}
	meta, err := metamanager.New(metamanager.Options{
		Bus: bus, Store: store, Logger: log, Hub: hubName, RequestTimeout: 10 * time.Second,
		Subscribers: []string{edged.Name},
	})
	if err != nil {
		t.Fatalf("metamanager: %v", err)
	}
	h.Meta = meta
	h.Hub = newHub(bus, meta)
	alloc := o.Allocatable
	if alloc == nil {
		alloc = corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("16Gi"),
			corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
		}
	}
	ed, err := edged.New(edged.Options{
		Bus: bus, Logger: log, NodeName: NodeName, Config: cfg, Store: metamanager.Name, Hub: hubName,
		HostIP:      func() string { return "127.0.0.1" },
		Allocatable: func() admit.Node { return admit.Node{Allocatable: alloc} },
	})
	if err != nil {
		t.Fatalf("edged: %v", err)
	}
	h.Edged = ed
	for _, m := range []beehive.Module{meta, h.Hub, ed} {
		if err := bus.Register(m, beehive.Policy{OnError: beehive.StopProcess}); err != nil {
			t.Fatalf("register %s: %v", m.Name(), err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- bus.Run(ctx) }()
	t.Cleanup(h.Stop)
	testenv.WaitFor(t, 30*time.Second, "Edged to reach containerd", func() error {
		return ed.Healthz(context.Background())
	})
	return h
}

// Stop stops edged and its store; the pods keep running in containerd.
func (h *Harness) Stop() {
	h.stop.Do(func() {
		h.cancel()
		<-h.done
		h.store.Close()
		if h.logF != nil {
			h.logF.Close()
		}
	})
}

// PodLogsDir is where Edged writes container logs.
func (h *Harness) PodLogsDir() string { return h.Config.PodLogsDir }

// Apply hands obj to Edged as the cloud's sync would: committed to the
// store, then told to Edged. The object needs a name, and a namespace if
// namespaced; a pod without a UID gets one.
func (h *Harness) Apply(t T, obj any) {
	t.Helper()
	if err := h.Hub.apply(obj); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// Delete removes an object as the cloud's sync would.
func (h *Harness) Delete(t T, typ, namespace, name string) {
	t.Helper()
	if err := h.Hub.remove(typ, namespace, name); err != nil {
		t.Fatalf("delete %s %s/%s: %v", typ, namespace, name, err)
	}
}

// DeletePod starts the graceful deletion of a pod, as `kubectl delete`
// does: the pod gets a deletionTimestamp and grace period; Edged stops it
// and asks the cloud to remove it, which the hub does.
func (h *Harness) DeletePod(t T, pod *corev1.Pod, grace int64) {
	t.Helper()
	p := h.Hub.podNamed(pod.Namespace, pod.Name)
	if p == nil {
		t.Fatalf("delete pod %s/%s: not applied", pod.Namespace, pod.Name)
	}
	p = p.DeepCopy()
	now := metav1.Now()
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace
	h.Apply(t, p)
}

// Pod returns a busybox pod (image testenv.BusyboxImage, pulled
// IfNotPresent, host network) named name in the default namespace,
// running command in one container called "main".
func Pod(name string, command ...string) *corev1.Pod {
	zero := int64(0)
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: uuid.NewUUID(), CreationTimestamp: metav1.Now()},
		Spec: corev1.PodSpec{
			NodeName:                      NodeName,
			HostNetwork:                   true,
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{
				Name: "main", Image: testenv.BusyboxImage, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: command,
			}},
		},
	}
}

// Status returns the pod's newest status the hub received, if any.
func (h *Harness) Status(namespace, name string) (corev1.PodStatus, bool) {
	return h.Hub.status(namespace, name)
}

// WaitStatus waits until the pod's newest reported status satisfies ok
// (nil when it does, else why not) and returns it.
func (h *Harness) WaitStatus(t T, pod *corev1.Pod, timeout time.Duration, what string, ok func(corev1.PodStatus) error) corev1.PodStatus {
	t.Helper()
	var st corev1.PodStatus
	testenv.WaitFor(t, timeout, fmt.Sprintf("pod %s: %s", pod.Name, what), func() error {
		var have bool
		st, have = h.Status(pod.Namespace, pod.Name)
		if !have {
			return fmt.Errorf("no status reported")
		}
		if err := ok(st); err != nil {
			return fmt.Errorf("%w; status: %s", err, Describe(st))
		}
		return nil
	})
	return st
}

// Running is a WaitStatus condition: phase Running with every container
// running and ready.
func Running(st corev1.PodStatus) error {
	if st.Phase != corev1.PodRunning {
		return fmt.Errorf("phase %s", st.Phase)
	}
	for _, c := range st.ContainerStatuses {
		if c.State.Running == nil || !c.Ready {
			return fmt.Errorf("container %s not running and ready", c.Name)
		}
	}
	return nil
}

// Describe is a status in one line, for failure messages.
func Describe(st corev1.PodStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s reason=%s", st.Phase, st.Reason)
	for _, c := range slices.Concat(st.InitContainerStatuses, st.ContainerStatuses) {
		fmt.Fprintf(&b, " [%s restarts=%d ready=%v", c.Name, c.RestartCount, c.Ready)
		switch {
		case c.State.Running != nil:
			b.WriteString(" running")
		case c.State.Waiting != nil:
			fmt.Fprintf(&b, " waiting %s %q", c.State.Waiting.Reason, c.State.Waiting.Message)
		case c.State.Terminated != nil:
			fmt.Fprintf(&b, " terminated %s exit=%d", c.State.Terminated.Reason, c.State.Terminated.ExitCode)
		}
		b.WriteString("]")
	}
	for _, c := range st.Conditions {
		fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
	}
	return b.String()
}

// resourceOf is the edge resource an object is synced under.
func resourceOf(obj any) (message.Resource, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return message.Resource{Namespace: o.Namespace, Type: kubemsg.TypePod, Name: o.Name}, nil
	case *corev1.ConfigMap:
		return message.Resource{Namespace: o.Namespace, Type: kubemsg.TypeConfigMap, Name: o.Name}, nil
	case *corev1.Secret:
		return message.Resource{Namespace: o.Namespace, Type: kubemsg.TypeSecret, Name: o.Name}, nil
	case *corev1.Node:
		return message.Resource{Type: kubemsg.TypeNode, Name: o.Name}, nil
	}
	return message.Resource{}, fmt.Errorf("unsupported object %T", obj)
}

func encode(obj any) ([]byte, error) { return json.Marshal(obj) }

// DeleteStored deletes an object from the store a stopped Harness left in
// dir, as a sync after a restart would find it gone.
func DeleteStored(t T, dir, typ, namespace, name string) {
	t.Helper()
	store, err := metamanager.OpenStore(metamanager.StoreOptions{Path: filepath.Join(dir, "edgecore.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer store.Close()
	msg := message.New(hubName, metamanager.Name, message.OpDelete, message.Resource{Namespace: namespace, Type: typ, Name: name}, nil)
	if err := store.Apply(context.Background(), msg); err != nil {
		t.Fatalf("delete %s %s/%s from the store: %v", typ, namespace, name, err)
	}
}
