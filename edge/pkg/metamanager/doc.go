// Package metamanager is edgecore's local store: a SQLite file
// (modernc.org/sqlite, pure Go) holding every object the cloud synced to
// this node and the latest status of each thing the node reports, so the
// node starts and runs with the cloud away.
//
// # The store
//
// OpenStore opens the file in WAL mode with synchronous=NORMAL and a busy
// timeout, checks it with PRAGMA quick_check, and applies the schema
// migrations it lacks. A file that fails the check is moved aside
// (<path>.corrupt-<time>) and a new one is started, with an Error log: the
// cloud rebuilds it on the next connect, since the manifest is then empty.
// A file from a newer edgecore is refused, never changed.
//
// Every write goes through one writer goroutine that commits whatever has
// queued, up to MaxBatch writes, in one transaction (group commit); a
// caller returns once its write is committed. Reads use a separate pool
// of read-only connections and never wait for the writer. StoreOptions.Metrics
// observes each committed transaction
// (tether_metamanager_sqlite_write_duration_seconds) and counts the writes
// committed and failed.
//
// # The module
//
// Manager is the edge hub's Store: Apply writes what the cloud syncs
// (acknowledged only once committed) and Manifest lists what is held for
// the next connect. Subscribers (Edged) are told at Start about every
// stored object, as OpInsert, then OpLoaded, without waiting for the
// cloud; after that about every change Apply commits, in commit order.
//
// Edge modules send statuses (one-way messages naming a cloud group, see
// common/kubemsg and common/devicemsg) to "metamanager": the newest per resource is kept in
// SQLite and handed to the hub, which sends it when the cloud is there. At
// Start the statuses kept from before a restart are handed to the hub
// again, so statuses made offline reach the cloud even across a restart.
// Applying a pod's or a device's deletion drops its kept status.
//
// Queries (SendSync, OpQuery) are answered from the store: a resource with
// a name gives that object's JSON, one without gives a JSON array of every
// object of the type (in the namespace, if given). A configmap or secret
// the store lacks, and every service-account token, is asked of the cloud
// through the hub; with the cloud away the answer is an OpError.
package metamanager
