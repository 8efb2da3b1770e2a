// Package volume writes the files of configMap, secret, projected and
// downwardAPI volumes so that a container never sees a half-updated set.
//
// AtomicWriter keeps a volume's files in a timestamped folder and points
// the symlink ..data at it; each top-level name in the volume is a
// symlink through ..data. An update writes a new folder, then renames a
// new ..data over the old one (one rename, atomic on POSIX), then adds and
// removes the top-level symlinks and deletes the old folder. A reader
// opening <volume>/<name> gets either the whole old set or the whole new
// one. This is the layout kubelets use, so programs that watch ..data for
// changes keep working.
//
// The payload functions turn a ConfigMap or Secret and a volume source
// (items, modes, optional) into the files to write; they are pure.
package volume
