package inventory

import (
	"path/filepath"
	"testing"
	"time"

	"counter/internal/testutil"
)

// The example documents the defaults; this keeps the two from drifting apart.
func TestHealthExampleShowsDefaults(t *testing.T) {
	inv := mustLoadExample(t)
	if got, want := inv.Health, DefaultHealth(); got != want {
		t.Errorf("inventory.example.yaml health = %+v, want the defaults %+v", got, want)
	}
}

func TestHealthOverride(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	inv, err := Load(filepath.Join("testdata", "health-override.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultHealth()
	want.ReplicationLag.Critical = time.Minute // warning keeps its default
	want.MemoryPercent.Warning = 40
	want.RAIDStateMaxAge = time.Hour
	if inv.Health != want {
		t.Errorf("Health = %+v, want %+v", inv.Health, want)
	}
}

func TestHealthRejects(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	path := filepath.Join("testdata", "health-bad.yaml")
	_, err := Load(path)
	if err == nil {
		t.Fatalf("Load(%q) = nil error, want one per bad threshold", path)
	}
	got := err.Error() + "\n"
	testutil.Golden(t, filepath.Join("testdata", "health-bad.golden"), []byte(got))
	checkSortedFieldErrors(t, err, path)
}
