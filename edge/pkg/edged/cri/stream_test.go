package cri

import "testing"

func TestStreamURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want string // "" means an error
	}{
		{"http://127.0.0.1:41234/exec/AbCd", "http://127.0.0.1:41234/exec/AbCd"},
		{"https://[::1]:10010/attach/x?y=1", "https://[::1]:10010/attach/x?y=1"},
		{"/exec/AbCd", ""},
		{"", ""},
		{"unix:///run/x.sock", ""},
		{"http://%zz", ""},
	} {
		u, err := streamURL(tc.raw, "exec")
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("streamURL(%q) = %v, want an error", tc.raw, u)
		case tc.want != "" && (err != nil || u.String() != tc.want):
			t.Errorf("streamURL(%q) = %v, %v; want %s", tc.raw, u, err, tc.want)
		}
	}
}
