//go:build !node

package ctl

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"counter/internal/redistest"
	"counter/internal/testutil"
	"counter/provisioning/host"
	"counter/provisioning/switchover"
)

// The switchover's commands reach a node's Redis as counterctl runs them:
// redis-cli over SSH on the unix socket, logged in with the password on stdin.
func TestFailoverRedisCLIOverSSH(t *testing.T) {
	testutil.NeedTool(t, "redis-cli", "redis-tools")
	const pw = "counterctl-password-0123456789"
	r := redistest.Start(t, redistest.WithUnixSocket(), redistest.WithUser("counterctl", pw),
		redistest.WithArgs("--user", "default", "off", "--user", "counterctl", "on", ">"+pw, "+@all"))
	inv, _ := sshLab(t, map[string]string{"master": "master"})
	conn := host.NewConnector(inv, host.ConnectOptions{})
	defer conn.Close()
	c, err := conn.Client(context.Background(), inv.Master())
	if err != nil {
		t.Fatal(err)
	}
	cli := &switchover.CLI{
		Shell:   func(string) (switchover.Shell, error) { return sshShell{c}, nil },
		RedisAt: switchover.Endpoint{Args: []string{"-s", r.Socket()}, User: "counterctl", Password: []byte(pw)},
	}
	v, err := cli.Redis(context.Background(), "master", "INFO", "replication")
	if s, _ := v.(string); err != nil || !strings.Contains(s, "role:master") {
		t.Fatalf("INFO over SSH = %q, %v; want role:master", v, err)
	}
	cli.RedisAt.Password = []byte("wrong")
	if _, err := cli.Redis(context.Background(), "master", "PING"); err == nil || !strings.Contains(err.Error(), "AUTH failed") {
		t.Errorf("wrong password over SSH: err %v, want AUTH failed", err)
	}
}

func TestFailoverRefusesBeforeConnecting(t *testing.T) {
	inv, _ := sshLab(t, map[string]string{"master": "master", "mirror": "mirror"})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown target", []string{"--to", "nowhere"}, "--to nowhere: no such node"},
		{"no password for counterctl", nil, "secret sentinel_counterctl_password: environment variable"},
		{"negative lag", []string{"--max-lag", "-1"}, "--max-lag -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newFailoverCmd()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(append([]string{"-i", inv.Path}, tt.args...))
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("failover %v = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
