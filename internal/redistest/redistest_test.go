package redistest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/internal/redistest"
	"counter/internal/testutil"
)

func TestRestartKeepsDataWithPersistence(t *testing.T) {
	srv := redistest.Start(t, redistest.WithPersistence(), redistest.WithPassword("s3cret"))
	srv.Do("SET", "k", "v1")
	oldPid := srv.Pid()
	srv.Restart()
	if srv.Pid() == oldPid || srv.Pid() == 0 {
		t.Fatalf("pid after restart = %d, want a new running process (old %d)", srv.Pid(), oldPid)
	}
	if got := srv.Do("GET", "k"); got != "v1" {
		t.Fatalf("GET k after restart = %v, want v1", got)
	}
}

func TestRestartWithoutPersistenceStartsEmpty(t *testing.T) {
	srv := redistest.Start(t)
	srv.Do("SET", "k", "v1")
	srv.Restart()
	if got := srv.Do("EXISTS", "k"); got != int64(0) {
		t.Fatalf("EXISTS k after restart = %v, want 0", got)
	}
}

func TestReplicaOfReplicates(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.Start(t)
	replica.ReplicaOf(master)
	master.Do("SET", "k", "from-master")

	c := replica.Client()
	testutil.Poll(t, 5*time.Second, "replica has k", func(ctx context.Context) error {
		got, err := c.Get(ctx, "k").Result()
		if err == nil && got != "from-master" {
			err = fmt.Errorf("replica GET k = %q, want from-master", got)
		}
		return err
	})
}

func TestKillEndsProcess(t *testing.T) {
	srv := redistest.Start(t)
	pid := srv.Pid()
	srv.Kill()
	if srv.Pid() != 0 {
		t.Fatalf("Pid() after Kill = %d, want 0", srv.Pid())
	}
	// Signal 0 probes for existence: the process must be gone (and reaped).
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("kill(%d, 0) = %v, want ESRCH", pid, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING after Kill succeeded, want an error")
	}
}

func TestPauseResume(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	srv.Pause()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING to a paused server answered")
	}
	srv.Resume()
	if got := srv.Do("PING"); got != "PONG" {
		t.Fatalf("PING after Resume = %v, want PONG", got)
	}
}

func TestTLS(t *testing.T) {
	srv := redistest.Start(t, redistest.WithTLS(), redistest.WithPassword("pw"))
	if !strings.HasPrefix(srv.URL(), "rediss://") || srv.CAFile() == "" {
		t.Fatalf("URL %q, CAFile %q; want rediss:// and a CA file", srv.URL(), srv.CAFile())
	}
	if got := srv.Do("PING"); got != "PONG" {
		t.Fatalf("PING over TLS = %v, want PONG", got)
	}
	// Plain TCP to the TLS port must not work.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: "pw", MaxRetries: -1})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("plain-text PING to the TLS port answered")
	}
}

// TestACLUserOnUnixSocket: a server like a provisioned node's, with the
// default user off and a counterd user, answers that user on the socket
// and on TCP, and refuses a client without credentials.
func TestACLUserOnUnixSocket(t *testing.T) {
	const pw = "acl-test-password"
	srv := redistest.Start(t, redistest.WithUnixSocket(), redistest.WithUser("counterd", pw),
		redistest.WithArgs("--user", "default", "reset", "--user", "counterd", "reset", "on", ">"+pw, "~counter:*", "+ping", "+info"))
	if got := srv.Do("PING"); got != "PONG" {
		t.Fatalf("PING as counterd = %v, want PONG", got)
	}
	if !strings.HasPrefix(srv.URL(), "redis://counterd:"+pw+"@127.0.0.1:") {
		t.Errorf("URL() = %q, want the user and password in it", srv.URL())
	}
	ctx := context.Background()
	sock := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket(), Username: "counterd", Password: pw,
		DisableIdentity: true, MaxRetries: -1})
	defer sock.Close()
	if err := sock.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING as counterd on %s: %v", srv.Socket(), err)
	}
	anon := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket(), DisableIdentity: true, MaxRetries: -1})
	defer anon.Close()
	if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("PING without credentials = %v, want NOAUTH", err)
	}
}
