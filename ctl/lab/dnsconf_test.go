package lab

import (
	"os/exec"
	"path/filepath"
	"testing"

	"counter/internal/testutil"
)

// testKey is a TSIG key with a secret Knot can parse (base64).
var testKey = TSIG{Name: "counter-update.", Algorithm: "hmac-sha256", Secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="}

// TestKnotConf: the primary's configuration, alone and NOTIFYing two nodes,
// is what the goldens hold, and Knot itself takes it.
func TestKnotConf(t *testing.T) {
	_, p := defaultPlan(t)
	tests := []struct {
		name, golden string
		notify       []Member
	}{
		{"no secondaries", "testdata/knot.conf.golden", nil},
		{"two secondaries", "testdata/knot-notify.conf.golden", p.OfKind(KindNode)[:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, err := knotConf("lab.counter.test.", testKey, tt.notify)
			if err != nil {
				t.Fatalf("knotConf() = %v", err)
			}
			testutil.Golden(t, tt.golden, conf)
			knotCheck(t, conf)
		})
	}
}

// knotCheck has knotc parse conf (conf-check needs no root and no running
// knotd); without knotc it skips, loudly.
func knotCheck(t *testing.T, conf []byte) {
	t.Helper()
	knotc, err := exec.LookPath("knotc")
	if err != nil {
		// Debian puts it in /usr/sbin, off an ordinary user's PATH.
		knotc = testutil.NeedTool(t, "/usr/sbin/knotc", "knot")
	}
	path := filepath.Join(t.TempDir(), "knot.conf")
	testutil.WriteFile(t, path, conf, 0o600)
	if out, err := exec.Command(knotc, "-c", path, "conf-check").CombinedOutput(); err != nil {
		t.Errorf("knotc conf-check: %v: %s\n%s", err, out, conf)
	}
}
