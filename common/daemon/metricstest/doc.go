// Package metricstest reads metrics back in tests of code that registers
// its collectors on a daemon.NewRegistry-style registry (one
// prometheus.Registry per binary, passed down as a Registerer).
//
// Each function gathers g afresh, so a test reads the values as they are
// at the call. A series is picked by label pairs (name, value, ...) that
// its labels must include; Value and Histogram want exactly one such
// series, ByLabel wants a family labelled by one label alone. What a
// function cannot answer (no such family or series, more than one, the
// wrong type, a failed Gather) fails the test with t.Fatal, naming the
// family and the series it has. Has only reports, so a test can poll it.
// Like t.Fatal, the functions must be called from the test's goroutine.
package metricstest
