// Package staticpod is Edged's source of static pods: pods defined by
// manifest files in a folder on the node (Edged.StaticPodPath) rather than
// by the API, run by Edged like any other pod and reported to the cluster
// as mirror pods, as the kubelet does.
//
// # Manifests
//
// Each .yaml, .yml or .json file of the folder (not its subfolders; dot
// files and other names are ignored) holds one Pod, decoded strictly
// (unknown or duplicate fields are errors; kind Pod, apiVersion v1). The
// pod Edged runs is the manifest's with
//
//   - name <name>-<node> (the node name lower-cased), namespace default
//     when empty, spec.nodeName the node;
//   - UID the hex SHA-256 of the file's bytes and the node name, so a pod
//     keeps its UID (and keeps running) across edgecore restarts and gets
//     a new one (is replaced) when its file changes; a UID in the manifest
//     is replaced;
//   - the annotations kubernetes.io/config.source=file,
//     kubernetes.io/config.hash=<UID> and kubernetes.io/config.seen (when
//     this version of the file was first read, RFC 3339);
//   - a toleration of every NoExecute taint;
//   - the defaults the apiserver would have set that Edged relies on
//     (restart, DNS and pull policies, grace period, probe periods and
//     thresholds, port protocols, volume modes, ...).
//
// A file that does not read, decode or validate is skipped with an error
// naming it. If an earlier scan read a good version of it, that version's
// pod is kept: a typo in a manifest must not stop a running pod. Two
// files defining the same namespace/name: the first by file name wins.
// A folder that does not exist holds no pods; one that cannot be read
// keeps the pods of the last scan.
//
// # Source
//
// Source.Run scans the folder at start and every Options.Period until its
// context ends, on its caller's goroutine; it calls onChange, on that
// goroutine, with the whole current set after the first scan and whenever
// the set (namespace, name, UID of each pod) changes. The pods given to
// onChange are the callee's. Skipped files are logged at Warn on every
// scan until they are fixed or removed.
//
// # Mirror pods
//
// The API learns of a static pod through its mirror pod (Mirror): a copy
// carrying kubernetes.io/config.mirror=<config.hash> and a controller
// owner reference to the Node, created and deleted through the cloud
// (kubemsg.TypeMirrorPod). MirrorActions compares the static pods with
// the mirror pods the node's pod list holds and says which to create and
// which to delete; the caller sends the deletes first. Mirror pods arrive
// at the edge like any pod of the node: IsMirror tells them apart, and
// Edged never runs them.
package staticpod
