package metamanager

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

func TestDevicesAreKeptAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	s := openTestStore(t, path)
	put := func(c DeviceChange) {
		t.Helper()
		if err := s.PutDevice(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	put(DeviceChange{Namespace: "default", Name: "thermo-1",
		State:         &DeviceState{State: "online", LastOnline: "2026-11-23T10:00:00Z"},
		PutTwins:      map[string][]byte{"temperature": []byte(`{"actual":{"value":"21"}}`), "heater": []byte(`{"expected":{"value":"false"}}`)},
		PutAttributes: map[string][]byte{"vendor": []byte(`{"value":"acme"}`)},
	})
	put(DeviceChange{Namespace: "default", Name: "thermo-2"})
	// A later change: one twin replaced, one deleted; the state kept.
	put(DeviceChange{Namespace: "default", Name: "thermo-1",
		PutTwins:    map[string][]byte{"temperature": []byte(`{"actual":{"value":"22"}}`)},
		DeleteTwins: []string{"heater"},
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestStore(t, path)
	got, err := s.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "thermo-1" || got[1].Name != "thermo-2" {
		t.Fatalf("devices %+v, want thermo-1 and thermo-2", got)
	}
	d := got[0]
	if d.State != "online" || d.LastOnline != "2026-11-23T10:00:00Z" {
		t.Errorf("state %q, last online %q: the change without a state lost them", d.State, d.LastOnline)
	}
	wantTwins := map[string][]byte{"temperature": []byte(`{"actual":{"value":"22"}}`)}
	if !maps.EqualFunc(d.Twins, wantTwins, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Errorf("twins %q, want %q", d.Twins, wantTwins)
	}
	if string(d.Attributes["vendor"]) != `{"value":"acme"}` || len(d.Attributes) != 1 {
		t.Errorf("attributes %q", d.Attributes)
	}
	if got[1].State != "" || len(got[1].Twins) != 0 {
		t.Errorf("empty device %+v", got[1])
	}
}

func TestDeleteDeviceRemovesItsTwinsAndAttributes(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	s := openTestStore(t, path)
	for _, name := range []string{"a", "b"} {
		if err := s.PutDevice(ctx, DeviceChange{Namespace: "ns", Name: name,
			PutTwins: map[string][]byte{"p": []byte(`{}`)}, PutAttributes: map[string][]byte{"x": []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteDevice(ctx, "ns", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDevice(ctx, "ns", "never-there"); err != nil {
		t.Errorf("deleting an absent device: %v", err)
	}
	got, err := s.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "b" || len(got[0].Twins) != 1 || len(got[0].Attributes) != 1 {
		t.Fatalf("devices after deleting a: %+v", got)
	}
	// Nothing of a is left behind in the other tables.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"device_twins", "device_attributes"} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + table + ` WHERE name = 'a'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s rows of a: %d, %v", table, n, err)
		}
	}
}

func TestDeviceChangesNeedAName(t *testing.T) {
	s := openTestStore(t, tempDB(t))
	ctx := context.Background()
	if err := s.PutDevice(ctx, DeviceChange{Namespace: "ns"}); !errors.Is(err, errDeviceName) {
		t.Errorf("PutDevice without a name: %v", err)
	}
	if err := s.DeleteDevice(ctx, "", "x"); !errors.Is(err, errDeviceName) {
		t.Errorf("DeleteDevice without a namespace: %v", err)
	}
}

func TestSchemaOneFileGetsTheDeviceTablesAndKeepsItsObjects(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateStep(ctx, db, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO objects VALUES ('pod', 'default', 'p', 'u1', '7', '{}')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := openTestStore(t, path)
	r, err := s.Get(ctx, res("default", "pod", "p"))
	if err != nil || r.UID != "u1" || r.ResourceVersion != "7" {
		t.Fatalf("object from schema 1: %+v, %v", r, err)
	}
	if err := s.PutDevice(ctx, DeviceChange{Namespace: "default", Name: "d"}); err != nil {
		t.Fatalf("device write after the migration: %v", err)
	}
}
