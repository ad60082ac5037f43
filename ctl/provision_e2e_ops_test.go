//go:build !node

package ctl_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/inventory"
)

// checkMetrics: every node serves /metrics on its own address, port 9180,
// to the admin network (the lab's host), and not on the public HTTPS port.
func checkMetrics(t *testing.T, e *e2e, inv *inventory.Inventory) {
	hc := &http.Client{Timeout: 10 * time.Second}
	for _, n := range inv.Nodes {
		url := "http://" + net.JoinHostPort(n.Address, "9180") + "/metrics"
		resp, err := hc.Get(url)
		if err != nil {
			t.Errorf("%s: GET %s from the admin host: %v", n.Name, url, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "counterd_http_requests_total") {
			t.Errorf("%s: GET %s from the admin host = %d, want 200 with counterd's metrics:\n%.300s", n.Name, url, resp.StatusCode, body)
		}
		if _, code, err := e.curl(client(n), "https://"+n.Address+"/metrics"); err != nil || code != http.StatusNotFound {
			t.Errorf("%s: GET https /metrics from %s = %d, %v; want 404", n.Name, client(n), code, err)
		}
	}
}

// checkKilledReplicaStarts: chaos scenarios must be able to restart any
// node of a provisioned lab, whose replicas take SSH only from the master
// and the mirror. While it is dead, health must not call it ready.
func checkKilledReplicaStarts(t *testing.T, e *e2e, inv *inventory.Inventory) {
	const name = "asia"
	if _, err := e.lab(time.Minute, "kill", name); err != nil {
		t.Fatal(err)
	}
	out, _ := e.run(2*time.Minute, "health", "-i", e.inv, "--node", name, "--timeout", "20s")
	if !regexp.MustCompile(`nodes ready \(1 unreachable\)`).MatchString(out) || strings.Contains(out, "1/1 nodes ready") {
		t.Errorf("health --node %s with %s killed says:\n%s\nwant 0/1 nodes ready (1 unreachable)", name, name, out)
	}
	if out, err := e.lab(3*time.Minute, "start", name); err != nil {
		t.Fatalf("lab start %s on a provisioned lab: %v", name, err)
	} else if !strings.Contains(out, name+" started") {
		t.Errorf("lab start %s = %q, want %q", name, out, name+" started")
	}
	if out, err := e.lab(time.Minute, "ssh", name, "--", "hostname"); err != nil || strings.TrimSpace(out) != name {
		t.Errorf("lab ssh %s -- hostname after start = %q, %v", name, out, err)
	}
	// Its counterd comes back by itself (the unit is enabled): poll /getvalue.
	n, _ := inv.Node(name)
	err := testutil.WaitEvery(time.Minute, 500*time.Millisecond, func(context.Context) error {
		_, code, err := e.curl(client(n), "https://"+n.Address+"/getvalue")
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		return err
	})
	if err != nil {
		t.Errorf("%s's counterd did not answer /getvalue within a minute of lab start: %v", name, err)
	}
}
