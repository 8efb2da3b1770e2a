// Package edged is Edged, edgecore's trimmed kubelet: it runs the node's
// pods through CRI (containerd), written against k8s.io/cri-api rather
// than imported from the kubelet.
//
// # Where pods come from
//
// MetaManager tells Edged (Name, "edged") about every object the node
// holds: at start the stored ones, then OpLoaded, then each change the
// cloud syncs. Edged keeps them in memory (the desired set): pods bound to
// the node, the configmaps and secrets they use, and the Node. Static pods
// come from manifest files (config edged.staticPodPath, package staticpod)
// and are run like the others; a mirror pod for each is kept in the API
// through the cloud (kubemsg.TypeMirrorPod), and their statuses are
// reported on it. Mirror pods coming down are never run.
//
// A pod is admitted when first seen once the store is loaded (after a
// restart: oldest first), against the node's allocatable (package
// admit); a pod that does not fit is reported Failed with the kubelet's
// reason (OutOfcpu, OutOfmemory, OutOfpods, NodePorts, ...) and never runs.
//
// # Pod workers
//
// Each pod has one worker goroutine, so a pod's syncs never overlap and
// pods sync in parallel. A worker syncs when kicked: by a change of the
// pod or of an object it uses, by PLEG seeing one of its containers or
// sandboxes change, by a probe result, when a back-off expires. One sync:
//
//  1. reads what the runtime holds for the pod now (cri.Client.Pod: a
//     filtered list and status calls) — not the last relist, so that a
//     sync never acts on a stale view of its own last actions;
//  2. computes the actions with podsync.Compute (pure) and carries them
//     out through podruntime (sandbox, image pulls, init containers one by
//     one, app containers, kills with the grace period), setting up the
//     pod's volumes first (package volume; every sync refreshes configmap,
//     secret and projected files in place);
//  3. computes the status with podsync.Status and hands it to MetaManager
//     when it changed (level-triggered: MetaManager keeps the newest and
//     the hub sends it when the cloud is there);
//  4. keeps the probers (package prober) in step with the containers. A
//     failed liveness probe kills the container at the next sync, and the
//     restart policy with its crash-loop back-off decides the rest.
//
// A pod being deleted is stopped with its grace period; once nothing of
// it runs, Edged asks the cloud to remove it from the API (as kubelets
// do: the deletion completes only then). A pod that left the desired set
// is stopped and removed from the runtime, with its volumes and logs, and
// its worker ends.
//
// # Restarts and offline
//
// Containers keep running when edgecore stops. At start Edged adopts what
// the runtime holds: a desired pod's running containers are kept (same
// container IDs, no restart); pods the runtime holds but the store does
// not (orphans) are stopped and removed once MetaManager has handed over
// every stored pod. With the cloud away pods keep running, restart, and
// report statuses, which reach the cloud when it returns.
//
// # The runtime
//
// Start dials the runtime (config edged.runtimeEndpoint) and retries every
// 2 s while it does not answer; meanwhile the node reports not Ready
// (RuntimeStatus) and /healthz fails (Healthz). PLEG relists every second,
// or streams CRI container events and relists every 30 s where the runtime
// can (containerd 2.x), and node status turns NotReady when PLEG has not
// relisted for its threshold. Dead containers, sandboxes, pod log folders
// and unused images are garbage-collected (package gc).
//
// # Metrics
//
// Options.Metrics holds PLEG's relist histograms and
// tether_edged_pod_start_duration_seconds: once per pod, the time from
// Edged first seeing it (from MetaManager or the static pod folder) to its
// first status in phase Running with every container running. A pod whose
// previous status (the last computed, else the cloud's copy) had them
// running already, as one adopted after a restart, is not observed.
package edged
