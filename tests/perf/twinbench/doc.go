// Package twinbench measures twin updates through the edge
// (BenchmarkTwin, in its test files), printed by `make bench BENCH=twin`.
// The benchmark is in the test files; `make test` runs only the small-load
// tests that keep it working.
//
// The edge runs in the benchmark's process, composed like edgecore
// (edge/cmd/edgecore/run.go) with no cloud: a beehive bus; MetaManager on a
// real SQLite store (a temporary file) with DeviceTwin as subscriber;
// EventBus's embedded broker on a free 127.0.0.1 port (the config defaults
// otherwise); DeviceTwin with its default 8 workers; and a stand-in EdgeHub
// that drains the device statuses. The node gets 100 Devices and their
// DeviceModel (FLOAT temperature and humidity, no desired values) through
// MetaManager.Apply, as EdgeHub applies what the cloud syncs; the benchmark
// starts once a membership/get lists them all.
//
// Load: 4 paho clients (MQTT 3.1.1 over TCP), each owning 25 devices, as
// mappers do, publish QoS 1 twin/update payloads reporting an actual
// temperature (a value that differs on every update, so each one is a real
// change committed to SQLite). Each client keeps at most 32 updates in flight
// (published with no result yet); a fifth client subscribes to
// $hw/events/device/+/+/twin/update/result at QoS 1 and counts the results.
// An error result (one with a code) fails the benchmark, and so does a
// store that does not hold the last value of a few devices afterwards.
// Every device gets one untimed update first.
//
//   - twin.updates (updates/s): 20,000 updates per iteration, divided by
//     the time from the first publication to the last result. Target ≥
//     5,000.
//   - twin.updates_p99_ms (ms): the 99th percentile of the time from
//     publishing an update to receiving its result, over the updates of
//     the latest twin.updates run (measured by this figure when it runs
//     alone). Under this saturating load it is mostly queueing: it grows
//     with the updates in flight.
//
// Why 4 × 32 in flight: throughput stops growing at about 64 in flight
// (any split over 1 to 10 clients gives the same rate), and more only
// lengthens the queues, and so the latency; 128 is safely on the plateau.
// The devices' count hardly matters (8 to 1,000 give the same rate). The
// flags -twin.devices, -twin.clients, -twin.window and -twin.updates change
// the load for one run:
//
//	go test -run '^$' -bench Twin -benchtime 1x ./tests/perf/twinbench -args -twin.window 64
//
// The load generator shares the edge's CPUs (paho's reads and writes and
// the result decoding take about a fifth of the process's CPU): on two
// cores the figures understate what the edge alone does. A run takes a few
// seconds; with -benchtime 2s (make's default) twin.updates may run two
// iterations.
package twinbench
