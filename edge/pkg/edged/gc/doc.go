// Package gc is Edged's garbage collector: it removes dead containers,
// their sandboxes and log files, and, when the image disk fills, unused
// images. It follows the kubelet's container and image GC, trimmed.
//
// # Who calls what
//
// Edged builds one Collector with New and calls Run, which runs a
// container pass every ContainerGC.Period and an image pass every
// ImageGC.Period (the first of each after one period) until its context
// ends, then returns once both loops have stopped. A pass that fails is
// logged at Warn and tried again at the next period; nothing is fatal.
// CollectContainers and CollectImages run one pass each, for tests and
// benchmarks; they may be called concurrently with each other and with
// Run (image passes are serialised, container passes share no state).
//
// Options.Live must be authoritative before Run starts: a pod it does not
// report live loses its exited containers, sandboxes and logs. Edged
// should start the collector only once its desired set is loaded.
//
// # Containers and sandboxes
//
// DeadContainers decides from a runtime snapshot (cri.Client.List):
//   - Running, created and unknown-state containers are never removed:
//     only exited ones are dead.
//   - A live pod keeps, per container name, its newest max(keep, 1)
//     exited instances: the newest instance is always kept, since pod
//     workers read a container's last exit and attempt from it (a Never
//     pod whose container ran would otherwise run it again). Older
//     exited instances are removed once they finished MinAge ago
//     (Detail.FinishedAt when inspected, else CreatedAt, as the kubelet).
//   - A pod that is not live loses all its exited containers.
//   - A sandbox is removed when it is not ready, has no container left
//     after the pass, and is not the newest sandbox of a live pod.
//
// Containers are removed first, then sandboxes; a sandbox one of whose
// containers failed to go is left for the next pass. NotFound from the
// runtime means already gone and is not an error.
//
// # Logs
//
// With Options.PodLogsDir set, the log files of each removed container
// (<PodLogsDir>/<namespace>_<name>_<uid>/<container>/<attempt>.log and its
// rotated siblings <attempt>.log.*) are removed with it, as the kubelet
// does: the runtime leaves them. After the runtime objects, every pod log
// folder (<namespace>_<name>_<uid>) whose pod is not live and has no
// container left in the runtime is removed.
//
// # Images
//
// The collector remembers, per image ID, when it first saw the image and
// the last image pass in which a container of the snapshot (any state)
// referenced it by ImageRef or Image (matched against the image's ID, tags
// and digests). When the image file system (ImageFsInfo's first
// mountpoint, measured with statfs) is at least HighThresholdPercent full,
// ImagesToFree picks unused, unpinned images (pinned by the runtime or
// named in Options.PinnedImages: the sandbox image, which containerd 1.6
// does not pin and no container references) last used (or first seen)
// MinAge ago or more, least recently used first, until usage would be at
// most LowThresholdPercent. Each removal is logged at Info; failures are
// returned, each naming its image. Sizes are the runtime's, so the
// usage reached is an estimate: the next pass measures again.
package gc
