package probe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The INFO fixtures are recorded from redis-server 7.0 (Debian 12): a
// master with one replica, that replica, and the replica two seconds after
// its master was killed.
func TestParseInfo(t *testing.T) {
	tests := []struct {
		name    string
		file    string // under testdata/, or "" to use in
		in      string
		want    RedisInfo
		wantErr string
	}{
		{name: "master", file: "info-master.txt", want: RedisInfo{Version: "7.0.15", Role: "master",
			Offset: 64, ConnectedReplicas: 1, UsedMemory: 1059160}},
		{name: "replica", file: "info-replica.txt", want: RedisInfo{Version: "7.0.15", Role: "slave",
			MasterHost: "127.0.0.1", MasterPort: 16391, LinkUp: true, SinceMaster: 2, Offset: 64, UsedMemory: 1014184}},
		{name: "replica link down", file: "info-replica-down.txt", want: RedisInfo{Version: "7.0.15", Role: "slave",
			MasterHost: "127.0.0.1", MasterPort: 16391, SinceMaster: 2, Offset: 64, UsedMemory: 1054920}},
		{name: "failed AUTH", in: "NOAUTH Authentication required.\n", wantErr: `not an INFO reply: "NOAUTH Authentication required."`},
		{name: "nothing", in: "", wantErr: `not an INFO reply: "no output"`},
		{name: "garbage number", in: "# Server\r\nredis_version:7.0.15\r\nrole:master\r\nused_memory:lots\r\n",
			wantErr: "not numbers: used_memory=lots"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if tt.file != "" {
				var err error
				if in, err = os.ReadFile(filepath.Join("testdata", tt.file)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ParseInfo(in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseInfo() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ParseInfo() = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseEpoch(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Time
		wantErr  bool
	}{
		{name: "GNU date", in: "1764152400.123456789", want: time.Unix(1764152400, 123456789)},
		{name: "no fraction", in: "1764152400", want: time.Unix(1764152400, 0)},
		{name: "short fraction", in: "1764152400.5", want: time.Unix(1764152400, 500000000)},
		{name: "busybox prints %N literally", in: "1764152400.%N", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEpoch(tt.in)
			if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
				t.Errorf("parseEpoch(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
