// Package podruntime carries out a pod worker's decisions against CRI:
// it creates sandboxes, starts containers (pulling their images as their
// pull policy says), kills and removes pods. The pod worker decides what
// to do with podsync.Compute; this package does it. The CRI configs are
// built by pure functions (SandboxConfig, ContainerConfig) so that tests
// check them without a runtime.
//
// # Calls
//
// For one pod: CreateSandbox (it makes the pod's log folder first), then
// StartContainer per container; KillContainer for one container, KillPod
// (containers in parallel, then sandboxes) and RemovePod (containers, then
// sandboxes) for the whole pod; RemoveLogs and ForgetPod when the pod is
// gone from the node. Anything already gone from the runtime (NotFound)
// counts as stopped or removed.
//
// # Start failures
//
// StartContainer returns a *StartError with the reason pod status shows
// as the container's waiting reason: ErrImagePull (the pull failed),
// ImagePullBackOff (a pull of the same image for the same pod failed
// less than its back-off ago: 10 s doubling to 5 min; the runtime is not
// called), ErrImageNeverPull, ImageInspectError,
// CreateContainerConfigError (env references, config, log folder),
// CreateContainerError and RunContainerError. Other errors (a container
// not in the spec, the sandbox's status unreadable, ctx done) are plain
// and mean "try again".
//
// Pull policy: Always pulls; IfNotPresent, and an empty policy (the
// apiserver defaults it; a static pod may leave it empty), pulls only
// when ImageStatus says the image is absent; Never fails when it is.
// imagePullSecrets give the pull its credentials: the first secret
// (.dockerconfigjson or .dockercfg) with an entry for the image's
// registry host; no wildcard or path matching.
//
// # Semantics, and where they differ from the kubelet
//
// The configs follow the kubelet's: the same labels (runstate's) and
// container annotations, log files at
// <podLogsDir>/<namespace>_<name>_<uid>/<container>/<attempt>.log written
// by the runtime in the CRI log format, namespaces from
// hostNetwork/hostPID/hostIPC and shareProcessNamespace (a hostNetwork
// pod gets no hostname of its own: it shares the host's), the pod's DNS
// from its dnsPolicy and dnsConfig, host ports, sysctls, the user, groups
// (fsGroup included), capabilities, privileged (which makes the sandbox
// privileged too), read-only root and no-new-privileges, CPU and memory
// from containerspec.LinuxResources. $(VAR) in command and args is
// expanded from the container's environment.
//
// Left out: lifecycle hooks (postStart, preStop) do not run; the
// termination message file is not mounted; runtimeClassName is ignored
// (the runtime's default handler); the cgroup parent is left to the
// runtime (no QoS cgroup tree); runAsNonRoot is only checked against an
// explicit runAsUser, not the image's user; seccomp, AppArmor and SELinux
// options are not passed. The host's resolv.conf is read once, by New.
//
// # Concurrency
//
// A Manager's methods are safe to call concurrently; the only shared
// state is the image pull back-off, under a mutex. Starting the same
// container twice at once is the caller's to avoid (one worker per pod).
// KillPod waits for the goroutines it starts before it returns.
package podruntime
