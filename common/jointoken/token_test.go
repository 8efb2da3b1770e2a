package jointoken

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

const (
	testHex  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testHash = "sha256:" + testHex
)

func TestGenerateAndParse(t *testing.T) {
	seen := map[string]bool{}
	shape := regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}\.[0-9a-f]{64}$`)
	for range 100 {
		tok, err := Generate(testHash)
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		s := tok.String()
		if !shape.MatchString(s) {
			t.Fatalf("token %q has the wrong shape", s)
		}
		if seen[tok.Secret] {
			t.Fatalf("secret repeated after %d tokens", len(seen))
		}
		seen[tok.Secret] = true
		back, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if back != tok {
			t.Fatalf("Parse(String()) = %+v, want %+v", back, tok)
		}
		if tok.Credential() != tok.ID+"."+tok.Secret {
			t.Fatalf("Credential = %q", tok.Credential())
		}
	}
}

func TestParseTrimsWhiteSpace(t *testing.T) {
	tok, err := Parse("  abc123.0123456789abcdef." + testHex + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if tok.ID != "abc123" || tok.Secret != "0123456789abcdef" || tok.CAHash != testHash {
		t.Errorf("parsed %+v", tok)
	}
}

func TestGenerateRejectsBadCAHash(t *testing.T) {
	for _, h := range []string{"", testHex, "sha256:" + testHex[:63], "sha256:" + strings.ToUpper(testHex), "md5:" + testHex} {
		if _, err := Generate(h); err == nil {
			t.Errorf("Generate(%q) succeeded", h)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	const secret = "s3cr3ts3cr3ts3cr"
	cases := []struct {
		name, in, errContains string
	}{
		{"empty", "", "1 part(s)"},
		{"two parts", "abc123." + secret, "2 part(s)"},
		{"four parts", "abc123." + secret + "." + testHex + ".x", "4 part(s)"},
		{"short id", "abc12." + secret + "." + testHex, "id: 5 characters, want 6"},
		{"long id", "abc1234." + secret + "." + testHex, "id: 7 characters"},
		{"upper-case id", "ABC123." + secret + "." + testHex, "id: characters outside"},
		{"id with symbol", "abc-12." + secret + "." + testHex, "id: characters outside"},
		{"secret and id swapped", secret + ".abc123." + testHex, "id: 16 characters"},
		{"short secret", "abc123." + secret[:15] + "." + testHex, "secret: 15 characters"},
		{"long secret", "abc123." + secret + "x." + testHex, "secret: 17 characters"},
		{"upper-case secret", "abc123." + strings.ToUpper(secret) + "." + testHex, "secret: characters outside"},
		{"empty secret", "abc123.." + testHex, "secret: 0 characters"},
		{"short CA hash", "abc123." + secret + "." + testHex[:10], "CA hash: 10 characters"},
		{"prefixed CA hash", "abc123." + secret + ".sha256:" + testHex, "without the \"sha256:\" prefix"},
		{"upper-case CA hash", "abc123." + secret + "." + strings.ToUpper(testHex), "lowercase hex"},
		{"non-hex CA hash", "abc123." + secret + "." + strings.Repeat("g", 64), "lowercase hex"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse(c.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", c.in, tok)
			}
			if !strings.Contains(err.Error(), c.errContains) {
				t.Errorf("error %q does not contain %q", err, c.errContains)
			}
			if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(secret[:10])) {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
}

func TestParseCredential(t *testing.T) {
	id, secret, err := ParseCredential("abc123.0123456789abcdef")
	if err != nil || id != "abc123" || secret != "0123456789abcdef" {
		t.Errorf("ParseCredential(short) = %q, %q, %v", id, secret, err)
	}
	id, secret, err = ParseCredential("abc123.0123456789abcdef." + testHex)
	if err != nil || id != "abc123" || secret != "0123456789abcdef" {
		t.Errorf("ParseCredential(full) = %q, %q, %v", id, secret, err)
	}
	for _, bad := range []string{"", "abc123", "abc123.short", "a.b.c.d", "abc123.0123456789abcdef.nothex"} {
		if _, _, err := ParseCredential(bad); err == nil {
			t.Errorf("ParseCredential(%q) succeeded", bad)
		}
	}
}

func TestLogValueHidesSecret(t *testing.T) {
	tok, err := Generate(testHash)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("made", "token", tok)
	if strings.Contains(buf.String(), tok.Secret) || !strings.Contains(buf.String(), tok.ID) {
		t.Errorf("log line %q: want the id and not the secret", buf.String())
	}
}
