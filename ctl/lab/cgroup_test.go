package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
)

// TestNodesGetCgroupsOfTheirOwn starts two processes the way nodes are
// started: each must run in its own member's cgroups in every hierarchy
// systemd tracks (not the starter's, which nspawn would share out to
// every node), and removeCgroups must leave nothing once they are gone.
func TestNodesGetCgroupsOfTheirOwn(t *testing.T) {
	testutil.NeedRoot(t, "makes cgroups in the host's hierarchies")
	suffix := testutil.RandHex(t, 4)
	var procs []*exec.Cmd
	var members []Member
	for _, name := range []string{"cga" + suffix, "cgb" + suffix} {
		m := Member{Name: name}
		dirs, err := makeCgroups(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(dirs) == 0 {
			t.Fatal("no cgroup hierarchy found that systemd tracks processes in")
		}
		t.Cleanup(func() { removeCgroups(m) })
		argv := inCgroupsArgv(dirs, []string{"sleep", "60"})
		cmd := exec.Command(argv[0], argv[1:]...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		procs, members = append(procs, cmd), append(members, m)
	}
	for i, cmd := range procs {
		m := members[i]
		dirs, _ := cgroupDirs(m)
		for _, d := range dirs {
			// sh joins the cgroup, then execs sleep: poll until the
			// pid's command is sleep, then it must be listed in d.
			testutil.Eventually(t, 5*time.Second, m.Name+" runs sleep in "+d, func() bool {
				comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "comm"))
				procs, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
				return strings.TrimSpace(string(comm)) == "sleep" && strings.Contains("\n"+string(procs), "\n"+strconv.Itoa(cmd.Process.Pid)+"\n")
			})
		}
	}
	for i, cmd := range procs {
		cmd.Process.Kill()
		cmd.Wait()
		if err := removeCgroups(members[i]); err != nil {
			t.Fatal(err)
		}
		dirs, _ := cgroupDirs(members[i])
		for _, d := range dirs {
			if _, err := os.Stat(d); !os.IsNotExist(err) {
				t.Errorf("%s still there after removeCgroups (%v)", d, err)
			}
		}
	}
}
