package sentinel

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// Outputs as redis-cli 7.0 prints them when not on a terminal (recorded
// against a real sentinel): error replies go to stdout with exit status 0.
func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name, out, want, err string
	}{
		{"master", "10.213.0.11\n6380\n", "10.213.0.11:6380", ""},
		{"ipv6", "2001:db8::11\n6380\n", "[2001:db8::11]:6380", ""},
		{"not monitored", "\n", "", "does not monitor"},
		{"noperm", "NOPERM this user has no permissions to run the 'sentinel|get-master-addr-by-name' command\n", "", `"NOPERM this user`},
		{"wrongpass", "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n", "", "AUTH failed"},
	} {
		got, err := parseMasterAddr([]byte(tt.out))
		if got != tt.want || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: parseMasterAddr(%q) = %q, %v; want %q, error containing %q", tt.name, tt.out, got, err, tt.want, tt.err)
		}
	}
	if _, err := parseMasterAddr([]byte("\n")); !errors.Is(err, ErrNoMaster) {
		t.Errorf("empty answer: %v, want ErrNoMaster", err)
	}
	ok := "OK 7 usable Sentinels. Quorum and failover authorization can be reached\n"
	if got, err := parseCKQuorum([]byte(ok)); err != nil || !strings.HasPrefix(got, "OK 7") {
		t.Errorf("parseCKQuorum(ok) = %q, %v", got, err)
	}
	no := "NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master\n"
	if _, err := parseCKQuorum([]byte(no)); err == nil || !strings.Contains(err.Error(), "NOQUORUM 1 usable") {
		t.Errorf("parseCKQuorum(noquorum) = %v, want the reason", err)
	}
}

// TestArgvKeepsSecretsOut: the password is read on the node from its
// file; the argv carries only paths.
func TestArgvKeepsSecretsOut(t *testing.T) {
	var got []string
	run := func(_ context.Context, argv []string) ([]byte, error) {
		got = argv
		return []byte("10.0.0.1\n6380\n"), nil
	}
	if _, err := (Client{Run: run, Where: Provisioned()}).MasterAddr(context.Background(), "lab"); err != nil {
		t.Fatal(err)
	}
	if got[0] != "sh" || !slices.Contains(got, PasswordFile) || !slices.Equal(got[len(got)-3:], []string{"SENTINEL", "GET-MASTER-ADDR-BY-NAME", "lab"}) {
		t.Errorf("argv = %q", got)
	}
}
