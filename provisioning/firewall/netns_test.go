package firewall

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"counter/internal/netnsdir"
	"counter/internal/testutil"
)

// The test binary re-executes itself inside a network namespace (through
// `ip netns exec`) as a TCP listener or as a prober; these variables say which.
const (
	envListen = "CTR_FWT_LISTEN" // comma-separated ports to listen on
	envProbe  = "CTR_FWT_PROBE"  // JSON []probe; prints one result per line
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(envListen) != "":
		os.Exit(listenMain(os.Getenv(envListen)))
	case os.Getenv(envProbe) != "":
		os.Exit(probeMain(os.Getenv(envProbe)))
	}
	// newNetns's namespaces may be the machine's first: remove the
	// /run/netns mount that made, as the lab does.
	before := netnsdir.Note()
	code := m.Run()
	made := before.Made()
	if err := made.Remove(); err != nil {
		fmt.Fprintln(os.Stderr, "remove what ip netns add made:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// listenMain accepts and closes connections on every port until its stdin
// closes, which happens when the test that started it ends.
func listenMain(ports string) int {
	for _, port := range strings.Split(ports, ",") {
		ln, err := net.Listen("tcp", ":"+port)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

type probe struct {
	From, To netip.Addr
	Port     uint16
}

const probeTimeout = 300 * time.Millisecond

func probeMain(spec string) int {
	var probes []probe
	if err := json.Unmarshal([]byte(spec), &probes); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, p := range probes {
		d := net.Dialer{Timeout: probeTimeout, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(p.From, 0))}
		c, err := d.Dial("tcp", netip.AddrPortFrom(p.To, p.Port).String())
		if err == nil {
			c.Close()
			fmt.Println("open")
		} else {
			fmt.Println("closed")
		}
	}
	return 0
}

// requireNetAdmin skips unless the test can make namespaces and run nft.
func requireNetAdmin(t *testing.T) {
	t.Helper()
	testutil.NeedRoot(t, "network namespaces and nft")
	testutil.NeedTool(t, "ip", "iproute2")
	testutil.NeedTool(t, "nft", "nftables")
}

// newNetns makes a namespace named ctr-fwt-<id>-<suffix>, removed when
// the test ends, also on failure.
func newNetns(t *testing.T, id, suffix string) string {
	return testutil.NewNetns(t, "ctr-fwt-"+id+"-"+suffix)
}

// inNetns returns argv run inside the namespace.
func inNetns(ns string, argv ...string) []string {
	return append([]string{"ip", "netns", "exec", ns}, argv...)
}

// startListener runs this test binary inside ns, listening on ports, and
// stops it by pid when the test ends.
func startListener(t *testing.T, ns string, ports ...uint16) {
	t.Helper()
	var ps []string
	for _, p := range ports {
		ps = append(ps, fmt.Sprint(p))
	}
	cmd := exec.Command("ip", inNetns(ns, os.Args[0])[1:]...)
	cmd.Env = append(os.Environ(), envListen+"="+strings.Join(ps, ","))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("listener said %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("listener in %s (pid %d): %v", ns, cmd.Process.Pid, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("listener in %s (pid %d) not ready after 10s", ns, cmd.Process.Pid)
	}
}

// probeFrom connects from inside ns for each probe and says which opened.
func probeFrom(t *testing.T, ns string, probes []probe) []bool {
	t.Helper()
	spec, err := json.Marshal(probes)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second+time.Duration(len(probes))*probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", inNetns(ns, os.Args[0])[1:]...)
	cmd.Env = append(os.Environ(), envProbe+"="+string(spec))
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("prober in %s: %v: %s", ns, err, ee.Stderr)
		}
		t.Fatalf("prober in %s: %v", ns, err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(probes) {
		t.Fatalf("prober answered %q for %d probes", out, len(probes))
	}
	open := make([]bool, len(lines))
	for i, l := range lines {
		open[i] = l == "open"
	}
	return open
}
