package metamanager

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/message"
)

// benchPodJSON is a pod of about 1 KiB, shaped as the apiserver writes it
// (metadata first, uid early in it).
func benchPodJSON(ns, name string, i int) []byte {
	s := fmt.Sprintf(`{"metadata":{"uid":"%08x-5f1c-4c8e-9d7a-%012x","name":%q,"namespace":%q,"resourceVersion":"%d","generation":1,`+
		`"creationTimestamp":"2026-03-01T10:00:00Z","labels":{"app":"telemetry","tier":"edge","pod-template-hash":"7d9f8c6b5"},`+
		`"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"telemetry-7d9f8c6b5","uid":"0d7e1a52-7c0b-4b53-a1f3-2b1e9f0c4d11","controller":true}]},`+
		`"apiVersion":"v1","kind":"Pod","spec":{"nodeName":"edge-1","restartPolicy":"Always","serviceAccountName":"default",`+
		`"containers":[{"name":"collector","image":"registry.example.com/telemetry/collector:1.8.2","imagePullPolicy":"IfNotPresent",`+
		`"args":["--listen=:9100","--mqtt=tcp://127.0.0.1:1883","--interval=10s"],"env":[{"name":"NODE_NAME","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}}],`+
		`"resources":{"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"cpu":"200m","memory":"128Mi"}},`+
		`"volumeMounts":[{"name":"config","mountPath":"/etc/collector","readOnly":true}],`+
		`"livenessProbe":{"httpGet":{"path":"/healthz","port":9100},"periodSeconds":10}}],`+
		`"volumes":[{"name":"config","configMap":{"name":"collector-config"}}],"tolerations":[{"key":"node-role.kubernetes.io/edge","operator":"Exists","effect":"NoSchedule"}]},`+
		`"status":{"phase":"Pending","qosClass":"Burstable"}}`, i, i, name, ns, i)
	if pad := 1024 - len(s); pad > 0 { // round up to 1 KiB with an annotation
		s = strings.Replace(s, `"generation":1,`, `"generation":1,"annotations":{"note":"`+strings.Repeat("x", max(pad-24, 0))+`"},`, 1)
	}
	return []byte(s)
}

func BenchmarkMeta(b *testing.B) {
	b.Run("upsert_1k", benchUpsert)
	b.Run("get_p99_us", benchGetP99)
}

// benchUpsert measures Apply of 1 KiB objects from many concurrent callers,
// each on its own keys, through the group-commit writer.
func benchUpsert(b *testing.B) {
	const callers, keys = 128, 16384
	s, err := OpenStore(StoreOptions{Path: filepath.Join(b.TempDir(), "edgecore.db"), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	msgs := make([]message.Message, keys)
	for i := range msgs {
		name := fmt.Sprintf("telemetry-7d9f8c6b5-%05d", i)
		msgs[i] = syncMsg(message.OpUpdate, res("default", "pod", name), fmt.Sprint(i), benchPodJSON("default", name, i))
	}
	ctx := context.Background()
	commits := s.writer.commits.Load()
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	cpu0 := processCPU()
	b.ResetTimer()
	for c := range callers {
		wg.Go(func() {
			// Caller c owns the keys i with i%callers == c.
			for i := c; i < b.N; i += callers {
				if err := s.Apply(ctx, msgs[i%keys]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu := processCPU() - cpu0
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	// Not figures: what explains one.
	b.Logf("%d upserts: %.1f per commit, %.1f µs of CPU each (all goroutines)",
		b.N, float64(b.N)/float64(max(s.writer.commits.Load()-commits, 1)), float64(cpu.Microseconds())/float64(b.N))
}

// benchGetP99 measures the latency of Get of one object, at random, from
// a store of 10k objects.
func benchGetP99(b *testing.B) {
	const objects = 10000
	s, err := OpenStore(StoreOptions{Path: filepath.Join(b.TempDir(), "edgecore.db"), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys := make([]message.Resource, objects)
	var wg sync.WaitGroup
	for c := range 64 {
		wg.Go(func() {
			for i := c; i < objects; i += 64 {
				keys[i] = res("default", "pod", fmt.Sprintf("telemetry-7d9f8c6b5-%05d", i))
				if err := s.Apply(context.Background(), syncMsg(message.OpInsert, keys[i], fmt.Sprint(i), benchPodJSON("default", keys[i].Name, i))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		key := keys[rng.IntN(objects)]
		start := time.Now()
		if _, err := s.Get(ctx, key); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "us")
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
