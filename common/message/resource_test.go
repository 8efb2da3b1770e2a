package message

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestResourceStringAndParse(t *testing.T) {
	tests := []struct {
		name string
		r    Resource
		s    string
	}{
		{"zero", Resource{}, ""},
		{"edge form", Resource{Namespace: "default", Type: "pod", Name: "web-0"}, "default/pod/web-0"},
		{"edge form without name", Resource{Namespace: "default", Type: "pod"}, "default/pod"},
		{"cluster scope", Resource{Type: "node", Name: "edge-1"}, "null/node/edge-1"},
		{"cluster scope without name", Resource{Type: "node"}, "null/node"},
		{"cloud form", Resource{Node: "edge-1", Namespace: "default", Type: "configmap", Name: "cfg"}, "node/edge-1/default/configmap/cfg"},
		{"cloud form without name", Resource{Node: "edge-1", Namespace: "kube-system", Type: "pod"}, "node/edge-1/kube-system/pod"},
		{"cloud form cluster scope", Resource{Node: "edge-1", Type: "node", Name: "edge-1"}, "node/edge-1/null/node/edge-1"},
		{"cloud form cluster scope without name", Resource{Node: "edge-1", Type: "node"}, "node/edge-1/null/node"},
		{"edge namespace named node", Resource{Namespace: "node", Type: "pod", Name: "x"}, "node/pod/x"},
		{"edge namespace named node without name", Resource{Namespace: "node", Type: "pod"}, "node/pod"},
		{"cloud form on node named node", Resource{Node: "node", Namespace: "node", Type: "node", Name: "node"}, "node/node/node/node/node"},
		{"segments named null", Resource{Node: "null", Type: "null", Name: "null"}, "node/null/null/null/null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.r.Validate(); err != nil {
				t.Fatalf("Validate(%#v) = %v, want nil", tt.r, err)
			}
			if got := tt.r.String(); got != tt.s {
				t.Errorf("String(%#v) = %q, want %q", tt.r, got, tt.s)
			}
			got, err := ParseResource(tt.s)
			if err != nil {
				t.Fatalf("ParseResource(%q) error: %v", tt.s, err)
			}
			if got != tt.r {
				t.Errorf("ParseResource(%q) = %#v, want %#v", tt.s, got, tt.r)
			}
		})
	}
}

func TestParseResourceRejects(t *testing.T) {
	for _, s := range []string{
		"/",
		"//",
		"pod",                      // one segment
		"node",                     // one segment, looks like the prefix
		"default/",                 // trailing slash
		"/default/pod",             // leading slash
		"default/pod/",             // trailing slash after type
		"default/pod/web/",         // trailing slash after name
		"default//web",             // empty type
		"/pod/web",                 // empty namespace
		"a/b/c/d",                  // four segments, not the cloud form
		"a/b/c/d/e",                // five segments, not the cloud form
		"node//default/pod",        // empty node
		"node/edge-1//pod",         // empty namespace in cloud form
		"node/edge-1/default/pod/", // trailing slash in cloud form
		"node/edge-1/default/pod/web/extra",
		"node/edge-1/default/pod/web/extra/more",
	} {
		t.Run(s, func(t *testing.T) {
			r, err := ParseResource(s)
			if err == nil {
				t.Fatalf("ParseResource(%q) = %#v, want error", s, r)
			}
			if !errors.Is(err, ErrBadResource) {
				t.Errorf("ParseResource(%q) error %v does not wrap ErrBadResource", s, err)
			}
			if r != (Resource{}) {
				t.Errorf("ParseResource(%q) returned %#v with its error, want zero", s, r)
			}
		})
	}
}

func TestResourceValidateRejects(t *testing.T) {
	for name, r := range map[string]Resource{
		"empty type":               {Namespace: "default", Name: "web"},
		"node only":                {Node: "edge-1"},
		"name only":                {Name: "web"},
		"namespace spelled null":   {Namespace: ClusterScope, Type: "node"},
		"slash in node":            {Node: "a/b", Type: "pod"},
		"slash in namespace":       {Namespace: "a/b", Type: "pod"},
		"slash in type":            {Type: "a/b"},
		"slash in name":            {Type: "pod", Name: "a/b"},
		"lone slash as the name":   {Type: "pod", Name: "/"},
		"lone slash as the node":   {Node: "/", Type: "pod"},
		"slash in cloud form type": {Node: "edge-1", Namespace: "default", Type: "pod/x"},
	} {
		t.Run(name, func(t *testing.T) {
			err := r.Validate()
			if !errors.Is(err, ErrBadResource) {
				t.Errorf("Validate(%#v) = %v, want an error wrapping ErrBadResource", r, err)
			}
		})
	}
}

func TestResourceNodeForms(t *testing.T) {
	edge := Resource{Namespace: "default", Type: "pod", Name: "web"}
	cloud := edge.OnNode("edge-1")
	if cloud.Node != "edge-1" || cloud.WithoutNode() != edge {
		t.Errorf("OnNode/WithoutNode: got %#v and %#v", cloud, cloud.WithoutNode())
	}
	if edge.IsZero() || !(Resource{}).IsZero() {
		t.Error("IsZero wrong")
	}
}

// segmentWords is small so random segments often collide with the special
// words and hold slashes.
var segmentWords = []string{"", "", "null", "node", "pod", "default", "a/b", "/", "x", "édge-1"}

// TestResourceRoundTripProperty checks that for every valid r,
// ParseResource(r.String()) == r, over random resources built from words
// that exercise the special cases.
func TestResourceRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return segmentWords[rng.IntN(len(segmentWords))] }
	valid := 0
	for range 20000 {
		r := Resource{Node: pick(), Namespace: pick(), Type: pick(), Name: pick()}
		if r.Validate() != nil {
			continue
		}
		valid++
		checkRoundTrip(t, r)
	}
	if valid < 1000 {
		t.Fatalf("only %d valid resources generated; the generator is broken", valid)
	}
}

func checkRoundTrip(t *testing.T, r Resource) {
	t.Helper()
	s := r.String()
	got, err := ParseResource(s)
	if err != nil {
		t.Fatalf("ParseResource(%q) of valid %#v: %v", s, r, err)
	}
	if got != r {
		t.Fatalf("ParseResource(%q) = %#v, want %#v", s, got, r)
	}
}

// FuzzParseResource checks that parsing never panics, that whatever parses is
// valid, and that parse→format→parse is stable.
func FuzzParseResource(f *testing.F) {
	for _, s := range []string{
		"", "default/pod/web", "default/pod", "null/node/edge-1",
		"node/edge-1/default/pod/web", "node/edge-1/null/node", "node/pod/x",
		"a/b/c/d", "//", "node//x/y", "node/n/null/null/null",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseResource(s)
		if err != nil {
			if !errors.Is(err, ErrBadResource) {
				t.Fatalf("ParseResource(%q) error %v does not wrap ErrBadResource", s, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseResource(%q) = %#v, which does not validate: %v", s, r, err)
		}
		s2 := r.String()
		r2, err := ParseResource(s2)
		if err != nil || r2 != r {
			t.Fatalf("ParseResource(%q) = %#v; String = %q; reparse = %#v, %v", s, r, s2, r2, err)
		}
		// Every string that parses is canonical: the only rewritten segment
		// is "null", and it formats back the same.
		if s2 != s {
			t.Fatalf("ParseResource(%q).String() = %q, want the input back", s, s2)
		}
	})
}

// FuzzResourceString checks the property from the struct side: every valid
// Resource formats to a string that parses back to it.
func FuzzResourceString(f *testing.F) {
	f.Add("", "default", "pod", "web")
	f.Add("edge-1", "", "node", "edge-1")
	f.Add("", "node", "pod", "")
	f.Fuzz(func(t *testing.T, node, ns, typ, name string) {
		r := Resource{Node: node, Namespace: ns, Type: typ, Name: name}
		if err := r.Validate(); err != nil {
			if !errors.Is(err, ErrBadResource) {
				t.Fatalf("Validate(%#v) error %v does not wrap ErrBadResource", r, err)
			}
			return
		}
		checkRoundTrip(t, r)
	})
}
