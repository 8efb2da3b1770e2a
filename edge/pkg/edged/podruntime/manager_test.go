package podruntime

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

func TestNewValidates(t *testing.T) {
	ok := Options{CRI: &fakeCRI{}, Logger: quietLogger(), NodeName: "n", PodLogsDir: "/l", Objects: fakeObjects{}}
	for name, change := range map[string]func(*Options){
		"CRI": func(o *Options) { o.CRI = nil }, "Logger": func(o *Options) { o.Logger = nil },
		"NodeName": func(o *Options) { o.NodeName = "" }, "PodLogsDir": func(o *Options) { o.PodLogsDir = "" },
		"Objects": func(o *Options) { o.Objects = nil }, "PullBackoff": func(o *Options) { o.PullBackoffMax = -1 },
	} {
		o := ok
		change(&o)
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("New without %s: %v, want an error naming it", name, err)
		}
	}
	if _, err := New(ok); err != nil {
		t.Fatalf("New: %v", err)
	}
}

func TestCreateSandbox(t *testing.T) {
	f := &fakeCRI{sandboxIP: "10.88.0.5"}
	m, logs := newTestManager(t, f, fakeObjects{}, nil)
	dir := filepath.Join(logs, "shop_web_uid-1")
	f.onRun = func(cfg *runtimeapi.PodSandboxConfig) {
		if cfg.LogDirectory != dir || !exists(dir) {
			t.Errorf("RunPodSandbox with log directory %q (exists %v), want %s made first", cfg.LogDirectory, exists(dir), dir)
		}
	}
	id, ip, err := m.CreateSandbox(t.Context(), testPod(), 4)
	if err != nil || id != "sb-1" || ip != "10.88.0.5" {
		t.Fatalf("CreateSandbox = %q, %q, %v", id, ip, err)
	}
	if want := []string{`run sandbox web 4 ""`, "sandbox status sb-1"}; !slices.Equal(f.takeCalls(), want) {
		t.Fatalf("calls %v, want %v", f.calls, want)
	}
	if err := m.RemoveLogs("shop", "web", "uid-1"); err != nil || exists(dir) {
		t.Fatalf("RemoveLogs: %v, folder left %v", err, exists(dir))
	}
	if err := m.RemoveLogs("shop", "../..", "uid-1"); err == nil {
		t.Fatal("RemoveLogs with a path in the name: no error")
	}
}

// startReq starts pod's app container in sandbox sb-1 (its IP unknown).
func startReq(pod *corev1.Pod) StartRequest {
	return StartRequest{Pod: pod, Name: "app", Sandbox: runstate.Sandbox{ID: "sb-1", Attempt: 1}, Attempt: 2, HostIP: "192.0.2.1"}
}

func TestStartContainer(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name       string
		policy     corev1.PullPolicy
		present    bool
		env        []corev1.EnvVar
		cri        func(*fakeCRI)
		wantReason string // "" is success
		wantID     string
		wantCalls  []string
	}{
		{name: "IfNotPresent, present", policy: corev1.PullIfNotPresent, present: true, wantID: "ctr-app",
			wantCalls: []string{"image status img", "sandbox status sb-1", "create app in sb-1", "start ctr-app"}},
		{name: "empty policy, absent: pulls", present: false, wantID: "ctr-app",
			wantCalls: []string{"image status img", "pull img", "sandbox status sb-1", "create app in sb-1", "start ctr-app"}},
		{name: "Always pulls even when present", policy: corev1.PullAlways, present: true, wantID: "ctr-app",
			wantCalls: []string{"pull img", "sandbox status sb-1", "create app in sb-1", "start ctr-app"}},
		{name: "Never, present", policy: corev1.PullNever, present: true, wantID: "ctr-app",
			wantCalls: []string{"image status img", "sandbox status sb-1", "create app in sb-1", "start ctr-app"}},
		{name: "Never, absent", policy: corev1.PullNever, wantReason: ReasonErrImageNeverPull,
			wantCalls: []string{"image status img"}},
		{name: "image status fails", cri: func(f *fakeCRI) { f.statusErr = errBoom }, wantReason: ReasonImageInspect,
			wantCalls: []string{"image status img"}},
		{name: "pull fails", policy: corev1.PullAlways, cri: func(f *fakeCRI) { f.pullErr = errBoom }, wantReason: ReasonErrImagePull,
			wantCalls: []string{"pull img"}},
		{name: "env reference missing", present: true, wantReason: ReasonCreateContainerConfigError,
			env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Key: "k"}}}},
			wantCalls: []string{"image status img", "sandbox status sb-1"}},
		{name: "create fails", present: true, cri: func(f *fakeCRI) { f.createErr = errBoom }, wantReason: ReasonCreateContainerError,
			wantCalls: []string{"image status img", "sandbox status sb-1", "create app in sb-1"}},
		{name: "start fails: the created container's ID comes back", present: true, cri: func(f *fakeCRI) { f.startErr = errBoom },
			wantReason: ReasonRunContainerError, wantID: "ctr-app",
			wantCalls: []string{"image status img", "sandbox status sb-1", "create app in sb-1", "start ctr-app"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeCRI{present: map[string]bool{"img": c.present}, sandboxIP: "10.88.0.9"}
			if c.cri != nil {
				c.cri(f)
			}
			m, _ := newTestManager(t, f, fakeObjects{}, nil)
			pod := testPod()
			pod.Spec.Containers[0].Image, pod.Spec.Containers[0].ImagePullPolicy = "img", c.policy
			pod.Spec.Containers[0].Env = c.env
			id, err := m.StartContainer(t.Context(), startReq(pod))
			var se *StartError
			switch {
			case c.wantReason == "" && err != nil:
				t.Errorf("StartContainer: %v", err)
			case c.wantReason != "" && (!errors.As(err, &se) || se.Reason != c.wantReason):
				t.Errorf("StartContainer: %v, want a StartError %s", err, c.wantReason)
			}
			if id != c.wantID {
				t.Errorf("id %q, want %q", id, c.wantID)
			}
			if got := f.takeCalls(); !slices.Equal(got, c.wantCalls) {
				t.Errorf("calls\n got %q\nwant %q", got, c.wantCalls)
			}
		})
	}
}

func TestStartContainerEnvAndLogs(t *testing.T) {
	for _, host := range []bool{false, true} {
		f := &fakeCRI{present: map[string]bool{"busybox": true}, sandboxIP: "10.88.0.9"}
		m, logs := newTestManager(t, f, fakeObjects{}, nil)
		pod := testPod()
		pod.Spec.HostNetwork = host
		pod.Spec.Containers[0].Env = []corev1.EnvVar{
			{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		}
		if _, err := m.StartContainer(t.Context(), startReq(pod)); err != nil {
			t.Fatal(err)
		}
		wantIP := map[bool]string{false: "10.88.0.9", true: "192.0.2.1"}[host]
		env := f.created[0].Envs
		if len(env) != 2 || string(env[0].Value) != wantIP || string(env[1].Value) != "edge-1" {
			t.Errorf("hostNetwork %v: env %v, want IP %s and NODE edge-1", host, env, wantIP)
		}
		if dir := filepath.Join(logs, "shop_web_uid-1", "app"); !exists(dir) {
			t.Errorf("container log folder %s not made", dir)
		}
	}
	// A known sandbox IP is not read again.
	f := &fakeCRI{present: map[string]bool{"busybox": true}}
	m, _ := newTestManager(t, f, fakeObjects{}, nil)
	r := startReq(testPod())
	r.Sandbox.IP = "10.88.0.10"
	if _, err := m.StartContainer(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if calls := f.takeCalls(); slices.Contains(calls, "sandbox status sb-1") {
		t.Errorf("calls %v: the sandbox status was read though the IP was given", calls)
	}
}

func TestStartContainerUnknownName(t *testing.T) {
	m, _ := newTestManager(t, &fakeCRI{}, fakeObjects{}, nil)
	r := startReq(testPod())
	r.Name = "nope"
	var se *StartError
	if _, err := m.StartContainer(t.Context(), r); err == nil || errors.As(err, &se) {
		t.Fatalf("err %v, want a plain error", err)
	}
}

func TestPullBackoff(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	f := &fakeCRI{pullErr: errors.New("registry down")}
	m, _ := newTestManager(t, f, fakeObjects{}, clock)
	pod := testPod()
	pod.Spec.Containers[0].ImagePullPolicy = corev1.PullAlways
	other := testPod()
	other.UID = "uid-2"
	other.Spec.Containers[0].ImagePullPolicy = corev1.PullAlways

	// try starts pod's container after step and checks the failure's reason
	// and whether the runtime was asked to pull.
	try := func(p *corev1.Pod, step time.Duration, wantReason string, wantPull bool) {
		t.Helper()
		clock.Step(step)
		_, err := m.StartContainer(t.Context(), startReq(p))
		var se *StartError
		if wantReason == "" && err != nil || wantReason != "" && (!errors.As(err, &se) || se.Reason != wantReason) {
			t.Fatalf("at +%v: %v, want %q", step, err, wantReason)
		}
		if wantReason == ReasonImagePullBackOff && !strings.Contains(se.Message, "Back-off pulling image") {
			t.Fatalf("message %q", se.Message)
		}
		if pulled := slices.Contains(f.takeCalls(), "pull busybox"); pulled != wantPull {
			t.Fatalf("at +%v: pulled %v, want %v", step, pulled, wantPull)
		}
	}
	try(pod, 0, ReasonErrImagePull, true)
	try(pod, 0, ReasonImagePullBackOff, false)
	try(other, 0, ReasonErrImagePull, true) // per pod
	try(pod, 9*time.Second, ReasonImagePullBackOff, false)
	try(pod, time.Second, ReasonErrImagePull, true) // 10 s passed; now 20 s
	try(pod, 19*time.Second, ReasonImagePullBackOff, false)
	try(pod, time.Second, ReasonErrImagePull, true) // 40 s
	try(pod, 39*time.Second, ReasonImagePullBackOff, false)
	f.pullErr = nil
	try(pod, time.Second, "", true)
	f.pullErr = errors.New("registry down")
	try(pod, 0, ReasonErrImagePull, true) // a success starts over at 10 s
	try(pod, 10*time.Second, ReasonErrImagePull, true)
	m.ForgetPod(pod.UID)
	try(pod, 0, ReasonErrImagePull, true)

	// The delay stops doubling at the maximum.
	for range 10 {
		try(pod, 5*time.Minute, ReasonErrImagePull, true)
	}
	try(pod, 5*time.Minute-time.Second, ReasonImagePullBackOff, false)
	try(pod, time.Second, ReasonErrImagePull, true)
}

func TestPullAuth(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("bob:pw"))
	objs := fakeObjects{secrets: map[string]*corev1.Secret{
		"hub": {Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(
			`{"auths":{"https://index.docker.io/v1/":{"username":"hubuser","password":"hubpw"}}}`)}},
		"corp": {Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(
			`{"auths":{"registry.example.com:5000":{"auth":"` + auth + `"}}}`)}},
		"old":    {Data: map[string][]byte{corev1.DockerConfigKey: []byte(`{"old.example.com":{"username":"o","password":"p"}}`)}},
		"broken": {Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{`)}},
	}}
	cases := []struct {
		image string
		want  *runtimeapi.AuthConfig
	}{
		{"busybox", &runtimeapi.AuthConfig{Username: "hubuser", Password: "hubpw", ServerAddress: "docker.io"}},
		{"registry.example.com:5000/app:1", &runtimeapi.AuthConfig{Username: "bob", Password: "pw", Auth: auth, ServerAddress: "registry.example.com:5000"}},
		{"old.example.com/app", &runtimeapi.AuthConfig{Username: "o", Password: "p", ServerAddress: "old.example.com"}},
		{"elsewhere.example.com/app", nil},
	}
	for _, c := range cases {
		f := &fakeCRI{}
		m, _ := newTestManager(t, f, objs, nil)
		pod := testPod()
		pod.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "missing"}, {Name: "broken"}, {Name: "hub"}, {Name: "corp"}, {Name: "old"}}
		pod.Spec.Containers[0].Image, pod.Spec.Containers[0].ImagePullPolicy = c.image, corev1.PullAlways
		if _, err := m.StartContainer(t.Context(), startReq(pod)); err != nil {
			t.Fatal(err)
		}
		if len(f.auths) != 1 || !proto.Equal(f.auths[0], c.want) {
			t.Errorf("image %s: auth %v, want %v", c.image, f.auths, c.want)
		}
	}
}

func TestKillContainer(t *testing.T) {
	f := &fakeCRI{stopErr: map[string]error{"gone": errNotFound, "bad": errors.New("boom")}}
	m, _ := newTestManager(t, f, fakeObjects{}, nil)
	if err := m.KillContainer(t.Context(), "gone", 5*time.Second); err != nil {
		t.Errorf("KillContainer of a gone container: %v", err)
	}
	if err := m.KillContainer(t.Context(), "bad", time.Second); err == nil {
		t.Error("KillContainer: the runtime's failure was not returned")
	}
	if err := m.KillContainer(t.Context(), "neg", -time.Second); err != nil || f.grace["neg"] != 0 || f.grace["gone"] != 5*time.Second {
		t.Errorf("KillContainer: %v, grace %v; want 5s and 0 for a negative grace", err, f.grace)
	}
}

// TestKillPod checks that KillPod stops the containers that have not
// exited all at once (each stop waits until all have begun), then the
// sandboxes.
func TestKillPod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rp := &runstate.Pod{UID: "uid-1", Namespace: "shop", Name: "web",
			Sandboxes: []runstate.Sandbox{{ID: "sb-2"}, {ID: "sb-1"}},
			Containers: []runstate.Container{
				{ID: "c-run", State: runstate.ContainerRunning}, {ID: "c-created", State: runstate.ContainerCreated},
				{ID: "c-unknown", State: runstate.ContainerUnknown}, {ID: "c-gone", State: runstate.ContainerRunning},
				{ID: "c-exited", State: runstate.ContainerExited},
			}}
		all := make(chan struct{})
		started := make(chan struct{}, 4)
		f := &fakeCRI{
			stopErr: map[string]error{"c-gone": errNotFound, "sb-1": errNotFound},
			onStop: func(ctx context.Context, id string) error {
				started <- struct{}{}
				select {
				case <-all:
					return nil
				case <-time.After(time.Minute):
					return errors.New("stops ran one after another")
				}
			},
		}
		go func() {
			for range 4 {
				<-started
			}
			close(all)
		}()
		m, _ := newTestManager(t, f, fakeObjects{}, nil)
		if err := m.KillPod(t.Context(), rp, 3*time.Second); err != nil {
			t.Fatalf("KillPod: %v", err)
		}
		calls := f.takeCalls()
		stops, sandboxes := calls[:4], calls[4:]
		slices.Sort(stops)
		if want := []string{"stop c-created", "stop c-gone", "stop c-run", "stop c-unknown"}; !slices.Equal(stops, want) {
			t.Errorf("container stops %v, want %v", stops, want)
		}
		if want := []string{"stop sandbox sb-2", "stop sandbox sb-1"}; !slices.Equal(sandboxes, want) {
			t.Errorf("then %v, want %v", sandboxes, want)
		}
		if f.grace["c-run"] != 3*time.Second {
			t.Errorf("grace %v, want 3s", f.grace)
		}
	})
}

func TestKillPodErrors(t *testing.T) {
	f := &fakeCRI{stopErr: map[string]error{"c-1": errors.New("c-1 stuck"), "sb-1": errors.New("sb-1 stuck")}}
	m, _ := newTestManager(t, f, fakeObjects{}, nil)
	rp := &runstate.Pod{Sandboxes: []runstate.Sandbox{{ID: "sb-1"}}, Containers: []runstate.Container{{ID: "c-1", State: runstate.ContainerRunning}}}
	err := m.KillPod(t.Context(), rp, 0)
	if err == nil || !strings.Contains(err.Error(), "c-1 stuck") || !strings.Contains(err.Error(), "sb-1 stuck") {
		t.Fatalf("KillPod: %v, want both failures", err)
	}
}

func TestRemovePod(t *testing.T) {
	f := &fakeCRI{removeErr: map[string]error{"c-2": errNotFound, "sb-2": errors.New("busy")}}
	m, _ := newTestManager(t, f, fakeObjects{}, nil)
	rp := &runstate.Pod{
		Sandboxes:  []runstate.Sandbox{{ID: "sb-2"}, {ID: "sb-1"}},
		Containers: []runstate.Container{{ID: "c-1"}, {ID: "c-2"}},
	}
	err := m.RemovePod(t.Context(), rp)
	if err == nil || !strings.Contains(err.Error(), "busy") {
		t.Errorf("RemovePod: %v, want the sandbox's failure only", err)
	}
	want := []string{"remove c-1", "remove c-2", "remove sandbox sb-2", "remove sandbox sb-1"}
	if got := f.takeCalls(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}
