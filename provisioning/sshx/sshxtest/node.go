package sshxtest

import (
	"net"
	"strconv"
	"testing"
	"time"

	"counter/provisioning/inventory"
)

// Node is an inventory node reached as root at addr (a test server's
// host:port) with the client key and known_hosts files a test wrote.
func Node(tb testing.TB, name string, role inventory.Role, addr, key, known string, connectTimeout time.Duration) inventory.Node {
	tb.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		tb.Fatal(err)
	}
	return inventory.Node{Name: name, Address: h, Role: role, Continent: "eu",
		SSH: inventory.SSH{User: "root", Port: port, KeyFile: key, KnownHosts: known, ConnectTimeout: connectTimeout, CommandTimeout: 10 * time.Second}}
}
