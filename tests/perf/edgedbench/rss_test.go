package edgedbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/common/jointoken"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/tests/testenv"
)

// rssFigures are edgecore's settled RSS in bytes.
type rssFigures struct {
	idle, pods int64
}

// criReadyLog is what Edged's CRI client logs once it reached the runtime.
const criReadyLog = "connected to container runtime"

// measureRSS runs the real edgecore with Edged enabled on containerd 2.4
// and no cloud (its hub retries the join: the RSS of an offline node,
// which is also what it holds online minus the tunnel's buffers), and
// reads its settled RSS idle and then with rssPods static pods running.
func measureRSS(b *testing.B) rssFigures {
	bin := b.TempDir()
	if err := testenv.BuildBinaries(bin, testenv.EdgecorePackage); err != nil {
		b.Fatal(err)
	}
	ctd := testenv.StartContainerd(b, testenv.ContainerdOptions{Version: testenv.Containerd24})
	logLoad(b, "start")
	defer logLoad(b, "end")
	ports := testenv.FreePorts(b, 3) // nothing listens: the cloud is away
	tok, err := jointoken.Generate("sha256:" + strings.Repeat("0", 64))
	if err != nil {
		b.Fatal(err)
	}
	ec := testenv.StartEdgecore(b, testenv.EdgecoreOptions{
		Bin: bin, NodeName: "rss-node", Token: tok.String(), Containerd: ctd,
		Cloud: &testenv.Cloudcore{WebSocketPort: ports[0], QUICPort: ports[1], HTTPSPort: ports[2]},
	})
	testenv.WaitLog(b, ec.Process, waitTimeout, criReadyLog)

	var m rssFigures
	m.idle = ec.SettledRSS(b)
	b.Logf("edgecore idle (Edged on, no pods, cloud away): RSS %.1f MiB", mb(m.idle))

	t0 := time.Now()
	for i := range rssPods {
		writeStaticPod(b, ec.StaticPodDir(), fmt.Sprintf("static-%d", i))
	}
	rt, _ := ctd.CRI(b)
	testenv.WaitFor(b, waitTimeout, fmt.Sprintf("%d static pods running", rssPods), func() error {
		if n := runningCRI(rt); n < rssPods {
			return fmt.Errorf("%d containers running", n)
		}
		return nil
	})
	running := time.Since(t0)
	m.pods = ec.SettledRSS(b)
	b.Logf("edgecore with %d static pods (all running after %v): RSS %.1f MiB (%+.1f)",
		rssPods, running.Round(time.Millisecond), mb(m.pods), mb(m.pods-m.idle))
	select {
	case <-ec.Done():
		b.Fatalf("edgecore exited (%v); log tail:\n%s", ec.Err(), ec.Tail(30))
	default:
	}
	return m
}

// writeStaticPod writes a host-network busybox manifest sleeping an hour.
func writeStaticPod(b *testing.B, dir, name string) {
	manifest := `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `, namespace: default}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 0
  containers:
  - {name: main, image: ` + testenv.BusyboxImage + `, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}
`
	if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(manifest), 0o644); err != nil {
		b.Fatal(err)
	}
}

// runningCRI counts the running containers Edged created (labelled with
// a pod UID); -1 when the runtime does not answer.
func runningCRI(rt runtimeapi.RuntimeServiceClient) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
	}})
	if err != nil {
		return -1
	}
	n := 0
	for _, c := range resp.GetContainers() {
		if c.GetLabels()[runstate.LabelPodUID] != "" {
			n++
		}
	}
	return n
}
