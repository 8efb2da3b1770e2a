// Package prober runs the liveness, readiness and startup probes of the
// containers Edged runs, with the kubelet's semantics, and hands the
// results to the pod worker.
//
// # Who calls what
//
// The pod worker calls Sync on every sync of a pod, with the pod, its
// runstate.Pod from the latest relist and the pod's IP; Sync starts one
// worker goroutine per (running container instance, probe kind) that the
// spec gives a probe, for the regular containers and the sidecars (init
// containers with restartPolicy Always), and stops the workers of
// instances that no longer run. When it computes the pod's status the
// worker reads Results (podsync.StatusInput.Ready and .Started, by
// container ID). Remove drops a deleted pod; Stop ends everything.
//
// Two callbacks come back, from worker goroutines and never under the
// Manager's lock: OnChange when a readiness or startup result changed (the
// pod worker recomputes the status), and OnLivenessFailure once per
// container instance whose liveness probe, or startup probe, failed
// failureThreshold times in a row (the pod worker kills it; restartPolicy
// decides the rest). A callback under way when Sync or Remove stops its
// worker may still arrive after they return: the caller ignores callbacks
// of pods and container IDs it no longer runs.
//
// # Semantics
//
// A probe runs first initialDelaySeconds after the container started
// (runstate Detail.StartedAt, else when Sync first saw it running), then
// every periodSeconds (default 10), each run bounded by timeoutSeconds
// (default 1). Zero or negative fields take the API defaults; successThreshold
// (default 1) is 1 for liveness and startup probes, failureThreshold
// defaults to 3.
//
//   - Startup: until it succeeds, the container's liveness and readiness
//     probes do not run and readiness stays false. The first success is
//     latched for that container instance and its worker ends;
//     failureThreshold failures call OnLivenessFailure and end it too.
//   - Readiness: false from the start; true after successThreshold
//     successes in a row, false again after failureThreshold failures in a
//     row. A container without a readiness probe is absent from the ready
//     map (podsync takes absent for ready).
//   - Liveness: failureThreshold failures in a row call OnLivenessFailure
//     once; the worker then ends and is not started again for that
//     container ID.
//
// # Handlers
//
//   - exec: Options.Exec (CRI ExecSync) with the probe's timeout; exit code
//     0 is a success. A timeout error is a failure; any other error gives
//     no result (like the kubelet, the run is not counted).
//   - httpGet: GET scheme://host:port/path with host the probe's host or
//     the pod IP, port a number or a named container port, the probe's
//     headers (a Host header sets the request's host), User-Agent
//     UserAgent and Accept */* unless given. TLS certificates are not
//     checked, as by the kubelet. Redirects are not followed: 200..399 is a
//     success, anything else or no answer a failure.
//   - tcpSocket: a TCP connection opened within the timeout is a success.
//   - grpc: grpc.health.v1 Check on the pod IP and port, plaintext, for the
//     probe's service; SERVING is a success.
//
// # Concurrency
//
// Every method is safe to call from many goroutines. Sync and Remove only
// cancel the workers they stop; Stop cancels all and waits for them, so it
// must not be called from a callback. Sync after Stop does nothing.
package prober
