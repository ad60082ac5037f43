package daemon

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "counterd.yaml", "listen: 127.0.0.1:9001\nmax-staleness: 5s\nlog-level: debug\nauth-mode: per-request\n")
	pw := writeFile(t, "pw", "s3cret\n")
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(Config) string // "" when right
	}{
		{name: "defaults", check: func(c Config) string {
			if c.Listen != ":8080" || c.Redis != "redis://127.0.0.1:6379/0" || c.Master != c.Redis ||
				c.MaxStaleness != 2*time.Second || c.AuthMode != AuthCookie || c.LogFormat != "text" {
				return "not the documented defaults"
			}
			return ""
		}},
		{name: "file over default", args: []string{"--config", file}, check: func(c Config) string {
			if c.Listen != "127.0.0.1:9001" || c.MaxStaleness != 5*time.Second || c.LogLevel != slog.LevelDebug || c.AuthMode != AuthPerRequest {
				return "file values not applied"
			}
			return ""
		}},
		{name: "env over file", args: []string{"--config", file}, env: map[string]string{"COUNTERD_LISTEN": "127.0.0.1:9002"},
			check: func(c Config) string {
				if c.Listen != "127.0.0.1:9002" || c.MaxStaleness != 5*time.Second {
					return "env should win over the file, the file still apply elsewhere"
				}
				return ""
			}},
		{name: "flag over env", args: []string{"--config", file, "--listen", "127.0.0.1:9003"},
			env: map[string]string{"COUNTERD_LISTEN": "127.0.0.1:9002"}, check: func(c Config) string {
				if c.Listen != "127.0.0.1:9003" {
					return "flag should win"
				}
				return ""
			}},
		{name: "config path from env", env: map[string]string{"COUNTERD_CONFIG": file}, check: func(c Config) string {
			if c.Listen != "127.0.0.1:9001" {
				return "COUNTERD_CONFIG not read"
			}
			return ""
		}},
		{name: "master separate", args: []string{"--redis", "redis://127.0.0.1:7000/0", "--master", "redis://10.0.0.1:6379/0"},
			check: func(c Config) string {
				if c.Redis != "redis://127.0.0.1:7000/0" || c.Master != "redis://10.0.0.1:6379/0" {
					return "redis/master mixed up"
				}
				return ""
			}},
		{name: "password from env", env: map[string]string{"COUNTERD_REDIS_PASSWORD": "from-env"}, check: func(c Config) string {
			if c.RedisPassword != "from-env" {
				return "password env not read"
			}
			return ""
		}},
		{name: "password file wins and loses its newline", args: []string{"--redis-password-file", pw},
			env: map[string]string{"COUNTERD_REDIS_PASSWORD": "from-env"}, check: func(c Config) string {
				if c.RedisPassword != "s3cret" {
					return "password file not read"
				}
				return ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, envOf(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("parseConfig(%q) = %v", tt.args, err)
			}
			if msg := tt.check(c); msg != "" {
				t.Errorf("parseConfig(%q, %v): %s: %+v", tt.args, tt.env, msg, c)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	unknown := writeFile(t, "unknown.yaml", "listen: :1\n\nlisten_addr: :2\n")
	nested := writeFile(t, "nested.yaml", "listen:\n  - a\n")
	badDur := writeFile(t, "dur.yaml", "# comment\nmax-staleness: soon\n")
	dup := writeFile(t, "dup.yaml", "listen: :1\nlisten: :2\n")
	version := writeFile(t, "version.yaml", "version: true\n")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "stray argument", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{name: "unknown key", args: []string{"--config", unknown}, wantErr: unknown + `:3: unknown key "listen_addr"`},
		{name: "cli-only key", args: []string{"--config", version}, wantErr: version + `:1: unknown key "version"`},
		{name: "nested value", args: []string{"--config", nested}, wantErr: nested + ":2: listen: want a single value"},
		{name: "bad file duration", args: []string{"--config", badDur}, wantErr: badDur + `:2: max-staleness: parse error`},
		{name: "repeated key", args: []string{"--config", dup}, wantErr: dup + `:2: key "listen" repeated`},
		{name: "missing file", args: []string{"--config", "/nonexistent/counterd.yaml"}, wantErr: "no such file"},
		{name: "bad env duration", env: map[string]string{"COUNTERD_SESSION_TTL": "forever"}, wantErr: "$COUNTERD_SESSION_TTL"},
		{name: "bad auth mode", args: []string{"--auth-mode", "magic"}, wantErr: `--auth-mode "magic": want cookie or per-request`},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantErr: "--log-format"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: "log-level"},
		{name: "bad redis url hides password", args: []string{"--redis", "http://user:hunter2@x/"}, wantErr: "--redis: want redis://"},
		{name: "half tls", args: []string{"--tls-cert", "c.pem"}, wantErr: "--tls-cert and --tls-key go together"},
		{name: "redirect needs tls", args: []string{"--http-redirect-addr", ":80"}, wantErr: "--http-redirect-addr needs"},
		{name: "metrics on the public listener", args: []string{"--listen", ":8080", "--metrics-listen", ":8080"}, wantErr: `--metrics-listen ":8080": must differ`},
		{name: "non-positive duration", args: []string{"--max-staleness", "0s"}, wantErr: "--max-staleness 0s: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, envOf(tt.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseConfig(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out strings.Builder
	if err := Run(t.Context(), []string{"--help"}, envOf(nil), &out, io.Discard); err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, f := range []string{"listen", "redis", "master", "redis-password-file", "redis-ca-file", "redis-cert-file", "redis-key-file", "max-staleness", "auth-mode",
		"tls-cert", "tls-key", "http-redirect-addr", "session-ttl", "log-level", "log-format", "config", "version",
		"COUNTERD_REDIS_PASSWORD", "COUNTERD_MAX_STALENESS"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help does not mention %s", f)
		}
	}
	out.Reset()
	if err := Run(t.Context(), []string{"--version"}, envOf(nil), &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "counterd ") {
		t.Errorf("--version = %q, %v", out.String(), err)
	}
}

func TestCheckConfig(t *testing.T) {
	good := writeFile(t, "good.yaml", "listen: 127.0.0.1:9001\n")
	bad := writeFile(t, "bad.yaml", "listen: 127.0.0.1:9001\nmax-stalenes: 2s\n")
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{name: "good", args: []string{"--check-config", "--config", good}, wantOut: "configuration ok"},
		{name: "bad", args: []string{"--check-config", "--config", bad}, wantErr: bad + `:2: unknown key "max-stalenes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := Run(t.Context(), tt.args, envOf(nil), &out, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run(%q) = %v, want %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("Run(%q) = %v, output %q, want %q", tt.args, err, out.String(), tt.wantOut)
			}
		})
	}
}
