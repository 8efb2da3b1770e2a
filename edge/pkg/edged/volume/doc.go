// Package volume gives a pod's containers their volumes: emptyDir (on
// disk, or a tmpfs for medium Memory), hostPath (checked or created by its
// type), and configMap, secret, downwardAPI and projected volumes written
// from the pod's objects. Other volume types are refused: an edge node has
// no attach/detach controller or CSI.
//
// # Manager
//
// Edged's pod worker calls Manager.SetUp on every sync of a pod, before it
// creates containers, and again when a configmap or secret the pod uses
// changes; SetUp rewrites only the volumes whose content changed, in
// place, so running containers see the new files at the same paths. It
// returns Volumes, whose Mounts gives the CRI mounts of one container.
// TearDown removes the pod's folder once the pod is gone (unmounting its
// tmpfs first); Pods lists the folders left, so a restarted Edged can
// tear down the pods it no longer runs.
//
// The Manager keeps no state in memory: the pod folders are the state.
// SetUp and TearDown of different pods may run concurrently; calls for one
// pod must not (its pod worker serializes them).
//
// Layout: <PodsDir>/<uid>/volumes/<kind>/<name>, with the kubelet's kind
// names (kubernetes.io~empty-dir, ~configmap, ~secret, ~downward-api,
// ~projected). The secret and projected kind folders are 0700, so other
// users of the host cannot read them; the files keep their modes.
//
// # Atomic updates
//
// AtomicWriter keeps a volume's files in a timestamped folder and points
// the symlink ..data at it; each top-level name in the volume is a
// symlink through ..data. An update writes a new folder, then renames a
// new ..data over the old one (one rename, atomic on POSIX), then adds and
// removes the top-level symlinks and deletes the old folder. A reader
// opening <volume>/<name> gets either the whole old set or the whole new
// one. This is the layout kubelets use, so programs that watch ..data for
// changes keep working. A volume whose content cannot be computed (a
// missing configmap, say) keeps its old files.
//
// A subPath mount of such a volume binds the file itself, as on a
// kubelet: it keeps the content it had when the container was created.
//
// The payload functions turn a ConfigMap or Secret and a volume source
// (items, modes, optional) into the files to write; they are pure.
package volume
