// Package podsync holds the pure decisions of Edged's pod workers: what
// to do next for a pod (Compute), when a crashed container may start
// again (Backoff), and the pod's API status (Status). Everything here is
// plain functions over values — the pod from the store, the runtime's
// runstate.Pod, probe results, a now — with no I/O, no goroutines and no
// clock of its own; the pod worker (the thin concurrent shell) does the
// CRI calls and the reporting.
//
// # One sync of a pod worker
//
//  1. Take the pod's runstate.Pod from the latest relist; exited
//     containers must have been inspected (runstate.Detail), else their
//     exit code is unknown and Compute neither restarts nor counts them.
//  2. a := Compute(pod, rp, backoff, now). Carry it out in order: KillPod
//     (stop every container and sandbox, a.GracePeriod), KillContainers,
//     CreateSandbox (with a.Attempt; otherwise use a.SandboxID), then
//     StartInit or StartContainers. Compute is idempotent for one
//     snapshot: computing again before the runtime shows the effect of the
//     last actions repeats them, it does not grow the back-off.
//  3. Requeue at a.WaitUntil when it is set, and on the next PLEG event.
//  4. Keep a.Reasons merged with the worker's own start failures
//     (ErrImagePull, ImagePullBackOff, CreateContainerError, ...) by
//     container name, dropping a name once that container runs; pass them
//     as StatusInput.Why to Status, with the probe results by container ID.
//  5. Report Status(pod, rp, in, now) when it differs from pod.Status;
//     pass the last reported status in pod.Status, since transition times,
//     the start time, IPs and the states of containers the runtime no
//     longer holds are kept from it.
//
// # Semantics, and where they differ from the kubelet
//
// Compute follows the kubelet's computePodActions:
//   - No ready sandbox (none, the newest not ready, or more than one
//     ready): kill what is left and create a sandbox with attempt+1, then
//     run the init containers again from the first. Not for a pod that has
//     nothing left to run: a Never pod whose containers ran, or an
//     OnFailure pod whose containers all succeeded.
//   - Init containers run one at a time in spec order; progress counts
//     only instances in the current sandbox. A failed one (non-zero exit,
//     OOMKilled, unknown state) fails the pod under Never (KillPod) and is
//     restarted, after its back-off, otherwise. An app container present
//     in the sandbox means init completed there.
//   - App containers start once init is done; a stopped one restarts per
//     restartPolicy (Never: no; OnFailure: unless it exited 0; Always:
//     yes; created or unknown: always), after its back-off. A running one
//     whose image differs from the spec is killed and started again
//     whatever the policy (the kubelet compares a spec hash; Edged
//     compares the image, the only mutable field that matters). Running
//     containers not in the spec, or not in the current sandbox, are
//     killed. When nothing runs and nothing will, the pod is killed.
//   - A pod being deleted, gone (nil) or already terminal in pod.Status is
//     killed and nothing starts. The grace period is the deletion's, else
//     terminationGracePeriodSeconds, else 30 s, and at least 2 s.
//   - Liveness and startup probe failures do not restart containers here
//     yet.
//
// Backoff counts exits rather than starts: 10 s after the first exit
// (the documented kubelet behaviour; the kubelet's code restarts the
// first time at once), doubling to 5 min, back to 10 s for a container
// that ran 10 min. It is keyed by pod UID and container name, not by spec
// hash: a changed image keeps the back-off.
//
// Status follows generateAPIPodStatus and getPhase: phase from the
// container states and restartPolicy, and a terminal phase is never left;
// a pod being deleted with nothing running is Succeeded or Failed
// whatever its policy. Restart count is the newest instance's attempt
// (or the number of older instances if greater). A container the
// runtime no longer holds keeps its reported terminated state, or, if it
// was running, is reported lost (ContainerStatusUnknown, exit 137). The
// pod's conditions other than PodScheduled, Initialized, ContainersReady
// and Ready are kept as they are; readiness gates are honoured.
//
// # Concurrency
//
// The functions are safe to call concurrently on distinct values. A
// Backoff is not safe for concurrent use: share one between workers only
// under the caller's lock, or keep one per worker.
package podsync
