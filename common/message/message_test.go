package message

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestResponse(t *testing.T) {
	res := Resource{Namespace: "default", Type: "pod", Name: "web"}
	req := New("edged", "metamanager", OpQuery, res, []byte("q"))
	req.Header.Sync = true

	resp := req.Response("metamanager", OpResponse, []byte("answer"))

	if resp.Header.ParentID != req.Header.ID {
		t.Errorf("ParentID = %q, want the request's ID %q", resp.Header.ParentID, req.Header.ID)
	}
	if resp.Header.ID == "" || resp.Header.ID == req.Header.ID {
		t.Errorf("response ID %q must be fresh (request ID %q)", resp.Header.ID, req.Header.ID)
	}
	if resp.Route.Destination != "edged" || resp.Route.Source != "metamanager" {
		t.Errorf("route %s -> %s, want metamanager -> edged", resp.Route.Source, resp.Route.Destination)
	}
	if resp.Route.Group != "" {
		t.Errorf("Group = %q, want empty", resp.Route.Group)
	}
	if resp.Route.Operation != OpResponse || resp.Route.Resource != res {
		t.Errorf("operation %q resource %#v, want %q %#v", resp.Route.Operation, resp.Route.Resource, OpResponse, res)
	}
	if !bytes.Equal(resp.Content, []byte("answer")) {
		t.Errorf("Content = %q", resp.Content)
	}
	if resp.Header.Sync {
		t.Error("a response must not itself be Sync")
	}
	if resp.Header.Timestamp == 0 {
		t.Error("Timestamp not set")
	}
	if !resp.IsResponse() || req.IsResponse() {
		t.Errorf("IsResponse: request %v, response %v", req.IsResponse(), resp.IsResponse())
	}
}

func TestResponseToGroupMessage(t *testing.T) {
	req := NewToGroup("cloudhub", "meta", OpQuery, Resource{Type: "node"}, nil)
	if req.Route.Group != "meta" || req.Route.Destination != "" {
		t.Fatalf("NewToGroup route = %#v", req.Route)
	}
	resp := req.Response("metamanager", OpResponse, nil)
	if resp.Route.Destination != "cloudhub" || resp.Route.Group != "" {
		t.Errorf("response route = %#v, want destination cloudhub and no group", resp.Route)
	}
}

func TestNewID(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	for range n {
		id := NewID()
		if len(id) != 32 {
			t.Fatalf("NewID() = %q, %d chars, want 32", id, len(id))
		}
		if b, err := hex.DecodeString(id); err != nil || hex.EncodeToString(b) != id {
			t.Fatalf("NewID() = %q is not lower-case hex", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}
