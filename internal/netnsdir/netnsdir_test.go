package netnsdir

import (
	"os"
	"os/exec"
	"testing"

	"counter/internal/testutil"
)

// TestRemoveUndoesFirstAdd: on a machine without /run/netns, an `ip netns
// add` and delete leave the directory and its mount; Remove takes both away.
func TestRemoveUndoesFirstAdd(t *testing.T) {
	testutil.NeedRoot(t, "ip netns add")
	testutil.NeedTool(t, "ip", "iproute2")
	if _, err := os.Stat(Dir); err == nil {
		t.Skipf("SKIP: %s exists already (another program's namespaces, or an earlier run's); the first-add case cannot be shown here", Dir)
	}
	before := Note()
	name := "ctr-netnsdir-" + testutil.RandHex(t, 4)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v %s", name, err, out)
	}
	if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns delete %s: %v %s", name, err, out)
	}
	made := before.Made()
	if !made.Dir || !made.Mount {
		t.Fatalf("Made() after the first ip netns add = %+v, want both the directory and the mount", made)
	}
	if err := made.Remove(); err != nil {
		t.Fatal(err)
	}
	if m, err := isMountPoint(Dir); err != nil || m {
		t.Errorf("%s still a mount point after Remove (err %v)", Dir, err)
	}
	if _, err := os.Stat(Dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after Remove: %v", Dir, err)
	}
}
