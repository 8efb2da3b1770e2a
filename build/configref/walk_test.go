package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestWalkFixture(t *testing.T) {
	pkg, err := ParsePackage("testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pkg.Walk("Root")
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	want := []Section{
		{Rows: []Field{
			{Path: "apiVersion", Keys: []string{"apiVersion"}, Type: "string", Doc: "APIVersion is inlined."},
			{Path: "flat", Keys: []string{"flat"}, Type: "bool", Doc: "Flat comes from an embedded struct."},
			{Path: "name", Keys: []string{"name"}, Type: "string", Doc: "Name is a string."},
			{Path: "count", Keys: []string{"count"}, Type: "int", Doc: "Count is an int that may be omitted."},
			{Path: "ratio", Keys: []string{"ratio"}, Type: "number", Doc: "Ratio is a number."},
			{Path: "period", Keys: []string{"period"}, Type: "duration", Doc: "Period is the package's Duration."},
			{Path: "wait", Keys: []string{"wait"}, Type: "duration", Doc: "Wait is a time.Duration."},
			{Path: "tags", Keys: []string{"tags"}, Type: "list of string", Doc: "Tags is a list."},
			{Path: "labels", Keys: []string{"labels"}, Type: "map of string", Doc: "Labels is a map."},
			{Path: "mode", Keys: []string{"mode"}, Type: "string", Doc: "Mode is a defined string type."},
			{Path: "Untagged", Keys: []string{"Untagged"}, Type: "bool", Doc: "Untagged has no json tag, so its Go name is its key."},
		}},
		{Name: "server", Doc: "Server is a section whose field has no doc of its own.", Rows: []Field{
			{Path: "server.listen", Keys: []string{"server", "listen"}, Type: "object", Doc: "Listen is nested.", Object: true},
			{Path: "server.listen.address", Keys: []string{"server", "listen", "address"}, Type: "string", Doc: "Address is host:port."},
			{Path: "server.pools", Keys: []string{"server", "pools"}, Type: "map of object", Doc: "Pools are a map of structs."},
			{Path: "server.pools.<key>.size", Type: "int", Doc: "Size is per pool."},
			{Path: "server.peers", Keys: []string{"server", "peers"}, Type: "list of object", Doc: "Peers are a list of struct pointers."},
			{Path: "server.peers[].host", Type: "string", Doc: "Host is per peer."},
			{Path: "server.backup", Keys: []string{"server", "backup"}, Type: "object", Doc: "Backup is a pointer to a struct.", Object: true},
			{Path: "server.backup.address", Keys: []string{"server", "backup", "address"}, Type: "string", Doc: "Address is host:port."},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Walk(Root):\n got %+v\nwant %+v", got, want)
	}
}

func TestWalkReportsEveryUndocumentedFieldOnce(t *testing.T) {
	pkg, err := ParsePackage("testdata/undocumented")
	if err != nil {
		t.Fatal(err)
	}
	_, err = pkg.Walk("Root")
	if err == nil {
		t.Fatal("Walk: no error for undocumented fields")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"Root.B (b) has no doc comment",
		"Inner.Missing (one.missing) has no doc comment",
		"Root.Other (other) has no doc comment",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("Walk errors:\n got %q\nwant %q", lines, want)
	}
}

func TestWalkUnknownRoot(t *testing.T) {
	pkg, err := ParsePackage("testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{"Nope", "Mode"} {
		if _, err := pkg.Walk(root); err == nil {
			t.Errorf("Walk(%s): no error", root)
		}
	}
}

func TestWalkRefusesACycle(t *testing.T) {
	pkg, err := ParsePackage("testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	_, err = pkg.Walk("Loop")
	if err == nil || !strings.Contains(err.Error(), "next: type Loop contains itself") {
		t.Errorf("Walk(Loop) = %v, want a cycle error", err)
	}
}

func TestParsePackageEmptyDir(t *testing.T) {
	if _, err := ParsePackage(t.TempDir()); err == nil {
		t.Error("ParsePackage of an empty directory: no error")
	}
}
