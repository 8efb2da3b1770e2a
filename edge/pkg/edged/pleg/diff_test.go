package pleg

import (
	"slices"
	"testing"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name     string
		old, new *runstate.Snapshot
		want     []Event
	}{
		{name: "both nil"},
		{name: "first relist, empty runtime", new: snapshot()},
		{
			name: "first relist reports everything present",
			new: snapshot(pod("a", sb{"s1", ready}, ctr{"c1", running}, ctr{"c2", exited},
				ctr{"c3", created}, ctr{"c4", unknown})),
			want: []Event{
				sbev("a", "s1", ready, false),
				ev("a", ContainerStarted, "c1", running),
				ev("a", ContainerDied, "c2", exited),
				ev("a", ContainerChanged, "c3", created),
				ev("a", ContainerChanged, "c4", unknown),
			},
		},
		{
			name: "no change, no events",
			old:  snapshot(pod("a", sb{"s1", ready}, ctr{"c1", running}, ctr{"c2", exited})),
			new:  snapshot(pod("a", sb{"s1", ready}, ctr{"c1", running}, ctr{"c2", exited})),
		},
		{
			name: "created to running",
			old:  snapshot(pod("a", ctr{"c1", created})),
			new:  snapshot(pod("a", ctr{"c1", running})),
			want: []Event{ev("a", ContainerStarted, "c1", running)},
		},
		{
			name: "unknown to running",
			old:  snapshot(pod("a", ctr{"c1", unknown})),
			new:  snapshot(pod("a", ctr{"c1", running})),
			want: []Event{ev("a", ContainerStarted, "c1", running)},
		},
		{
			name: "new container running",
			old:  snapshot(pod("a", sb{"s1", ready})),
			new:  snapshot(pod("a", sb{"s1", ready}, ctr{"c1", running})),
			want: []Event{ev("a", ContainerStarted, "c1", running)},
		},
		{
			name: "running to exited",
			old:  snapshot(pod("a", ctr{"c1", running})),
			new:  snapshot(pod("a", ctr{"c1", exited})),
			want: []Event{ev("a", ContainerDied, "c1", exited)},
		},
		{
			name: "created and exited between relists: died only",
			old:  snapshot(pod("a", sb{"s1", ready})),
			new:  snapshot(pod("a", sb{"s1", ready}, ctr{"c1", exited})),
			want: []Event{ev("a", ContainerDied, "c1", exited)},
		},
		{
			name: "created to exited",
			old:  snapshot(pod("a", ctr{"c1", created})),
			new:  snapshot(pod("a", ctr{"c1", exited})),
			want: []Event{ev("a", ContainerDied, "c1", exited)},
		},
		{
			name: "unknown to exited",
			old:  snapshot(pod("a", ctr{"c1", unknown})),
			new:  snapshot(pod("a", ctr{"c1", exited})),
			want: []Event{ev("a", ContainerDied, "c1", exited)},
		},
		{
			name: "exited to running (same ID)",
			old:  snapshot(pod("a", ctr{"c1", exited})),
			new:  snapshot(pod("a", ctr{"c1", running})),
			want: []Event{ev("a", ContainerStarted, "c1", running)},
		},
		{
			name: "created to unknown and unknown to created",
			old:  snapshot(pod("a", ctr{"c1", created}, ctr{"c2", unknown})),
			new:  snapshot(pod("a", ctr{"c1", unknown}, ctr{"c2", created})),
			want: []Event{
				ev("a", ContainerChanged, "c1", unknown),
				ev("a", ContainerChanged, "c2", created),
			},
		},
		{
			name: "running to unknown",
			old:  snapshot(pod("a", ctr{"c1", running})),
			new:  snapshot(pod("a", ctr{"c1", unknown})),
			want: []Event{ev("a", ContainerChanged, "c1", unknown)},
		},
		{
			name: "exited container removed",
			old:  snapshot(pod("a", sb{"s1", ready}, ctr{"c1", exited}, ctr{"c2", running})),
			new:  snapshot(pod("a", sb{"s1", ready}, ctr{"c2", running})),
			want: []Event{ev("a", ContainerRemoved, "c1", exited)},
		},
		{
			name: "running container vanished: died then removed",
			old:  snapshot(pod("a", sb{"s1", ready}, ctr{"c1", running})),
			new:  snapshot(pod("a", sb{"s1", ready})),
			want: []Event{
				{PodUID: "a", Type: ContainerDied, ContainerID: "c1", Name: "n-c1", State: running},
				ev("a", ContainerRemoved, "c1", running),
			},
		},
		{
			name: "unknown container vanished: died then removed",
			old:  snapshot(pod("a", sb{"s1", ready}, ctr{"c1", unknown})),
			new:  snapshot(pod("a", sb{"s1", ready})),
			want: []Event{
				{PodUID: "a", Type: ContainerDied, ContainerID: "c1", Name: "n-c1", State: unknown},
				ev("a", ContainerRemoved, "c1", unknown),
			},
		},
		{
			name: "created container vanished: removed only",
			old:  snapshot(pod("a", sb{"s1", ready}, ctr{"c1", created})),
			new:  snapshot(pod("a", sb{"s1", ready})),
			want: []Event{ev("a", ContainerRemoved, "c1", created)},
		},
		{
			name: "sandbox ready to not ready and back",
			old:  snapshot(pod("a", sb{"s1", ready}), pod("b", sb{"s2", notRdy})),
			new:  snapshot(pod("a", sb{"s1", notRdy}), pod("b", sb{"s2", ready})),
			want: []Event{sbev("a", "s1", notRdy, false), sbev("b", "s2", ready, false)},
		},
		{
			name: "sandbox replaced",
			old:  snapshot(pod("a", sb{"s1", notRdy})),
			new:  snapshot(pod("a", sb{"s2", ready})),
			want: []Event{sbev("a", "s1", notRdy, true), sbev("a", "s2", ready, false)},
		},
		{
			name: "new sandbox beside the old one",
			old:  snapshot(pod("a", sb{"s1", notRdy}, ctr{"c1", exited})),
			new:  snapshot(pod("a", sb{"s2", ready}, sb{"s1", notRdy}, ctr{"c1", exited})),
			want: []Event{sbev("a", "s2", ready, false)},
		},
		{
			name: "pod appears",
			old:  snapshot(pod("a", sb{"s1", ready})),
			new:  snapshot(pod("a", sb{"s1", ready}), pod("b", sb{"s2", ready}, ctr{"c2", created})),
			want: []Event{sbev("b", "s2", ready, false), ev("b", ContainerChanged, "c2", created)},
		},
		{
			name: "pod disappears: containers, sandbox, then the pod",
			old: snapshot(pod("a", sb{"s1", ready}),
				pod("b", sb{"s2", ready}, ctr{"c1", running}, ctr{"c2", exited})),
			new: snapshot(pod("a", sb{"s1", ready})),
			want: []Event{
				sbev("b", "s2", notRdy, true),
				{PodUID: "b", Type: ContainerDied, ContainerID: "c1", Name: "n-c1", State: running},
				ev("b", ContainerRemoved, "c1", running),
				ev("b", ContainerRemoved, "c2", exited),
				podRemoved("b"),
			},
		},
		{
			name: "new snapshot nil: everything removed",
			old:  snapshot(pod("a", sb{"s1", notRdy}, ctr{"c1", exited})),
			want: []Event{
				sbev("a", "s1", notRdy, true),
				ev("a", ContainerRemoved, "c1", exited),
				podRemoved("a"),
			},
		},
		{
			name: "sorted by pod, then sandboxes, containers, by ID",
			old:  snapshot(pod("c", ctr{"x", running}), pod("a", ctr{"z", running})),
			new: snapshot(pod("c", ctr{"x", exited}), pod("b", ctr{"b2", running}, ctr{"b1", running},
				sb{"zz", ready}), pod("a", ctr{"z", exited})),
			want: []Event{
				ev("a", ContainerDied, "z", exited),
				sbev("b", "zz", ready, false),
				ev("b", ContainerStarted, "b1", running),
				ev("b", ContainerStarted, "b2", running),
				ev("c", ContainerDied, "x", exited),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.old, tt.new)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Diff:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// Diff must not depend on map order: run it many times on a larger input.
func TestDiffDeterministic(t *testing.T) {
	old := snapshot(pod("a", ctr{"1", running}, ctr{"2", running}, ctr{"3", created}),
		pod("b", sb{"s", ready}, ctr{"4", running}), pod("c", ctr{"5", exited}))
	new := snapshot(pod("a", ctr{"1", exited}, ctr{"3", running}, ctr{"6", running}),
		pod("d", sb{"t", ready}, ctr{"7", unknown}))
	first := Diff(old, new)
	for range 50 {
		if got := Diff(old, new); !slices.Equal(got, first) {
			t.Fatalf("Diff not deterministic:\n%v\n%v", got, first)
		}
	}
}
