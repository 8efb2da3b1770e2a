// Package logs reads container log files in the CRI format the runtime
// writes, as the kubelet serves them to `kubectl logs`: tail, since,
// limitBytes, timestamps and follow.
//
// # The file
//
// Each line is one entry, "<RFC3339Nano time> <stdout|stderr> <tag> <content>",
// where the tag is F (a full line) or P (partial: the content continues in
// the next entry of the same stream, without a newline between). A line
// that does not parse is skipped; it never fails the read. The output is
// the content of each entry, with a newline after each F entry, in the
// order of the file, both streams together.
//
// # Options
//
//   - Timestamps: each output line starts with the time of its first entry
//     as written in the file, and a space.
//   - Since: a line whose first entry is older is left out.
//   - TailLines: output starts at the last TailLines lines of the file,
//     counting lines as the output does (P entries with the F that ends
//     them; unparsable lines not at all), found by reading the file
//     backwards in blocks. 0 outputs nothing of what the file has (with
//     Follow, only what comes next); nil or negative, the whole file.
//     Tail is applied before Since, as the kubelet does.
//   - LimitBytes: Read stops, returning nil, once it has written that many
//     bytes, which may cut a line. 0 or less writes nothing.
//
// # Follow
//
// Without Follow, Read returns nil at the end of the file (an incomplete
// last line is written as it is). With Follow, it waits at the end of the
// file for more, woken by an fsnotify watch on the file's folder and by a
// one-second timer (alone when no watch can be had). After each batch it
// flushes w if w has a Flush() method (an http.Flusher), so a client sees
// lines promptly. It ends:
//
//   - when running (nil counts as always true) reports false at the end of
//     the file: it then reads the file once more to its end and returns
//     nil;
//   - when ctx ends: it returns nil, since that is how a follow normally
//     ends (the client went away, or the caller's deadline). Without
//     Follow, ctx is checked every 1024 lines and also ends the read with
//     nil;
//   - when LimitBytes are written (nil).
//
// Rotation: Edged renames <attempt>.log to <attempt>.log.<suffix> and the
// runtime opens a new <attempt>.log. At the end of the open file, when
// path names another file, Read finishes the open one and goes on from the
// start of the new one; a line split in P entries across the two is
// joined. Bytes the runtime writes to the old file after that last read
// are lost, as they are with the kubelet. A file truncated in place is not
// noticed.
//
// # Errors
//
// A missing file is an error wrapping fs.ErrNotExist that names path; a
// failed write to w ends Read with an error wrapping the writer's. Read
// keeps no state between calls and is safe to call concurrently, on the
// same file too.
package logs
