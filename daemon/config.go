package daemon

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Auth modes for --auth-mode.
const (
	AuthCookie     = "cookie"      // log in once, a session cookie authorises /inc
	AuthPerRequest = "per-request" // no sessions: every /inc carries login and password
)

// Config is counterd's whole configuration, after flags, environment and file are merged.
type Config struct {
	Listen           string
	MetricsListen    string // /metrics only here; empty: not served
	Redis            string // the local node, for reads
	Master           string // the master, for writes; defaults to Redis unless Sentinels is set
	Sentinels        string // host:port,... of the Sentinels naming the master; "" = the fixed Master
	MasterName       string // the master's name at the Sentinels
	RedisPassword    string // from --redis-password-file or $COUNTERD_REDIS_PASSWORD; never logged
	RedisCAFile      string // PEM CAs trusted for rediss:// URLs
	RedisCertFile    string // client certificate for rediss:// (the cluster's Redis demands one)
	RedisKeyFile     string // its private key
	RedisTimeout     time.Duration
	MaxStaleness     time.Duration
	AuthMode         string
	SessionTTL       time.Duration
	TLSCert, TLSKey  string
	HTTPRedirectAddr string
	NodeName         string // sent as Counter-Node on every answer
	MaxConnsPerIP    int    // open connections one address may hold; 0: no cap
	ShutdownTimeout  time.Duration
	LogLevel         slog.Level
	LogFormat        string
}

// DefaultConfig is the configuration with nothing set.
func DefaultConfig() Config {
	return Config{
		Listen:          ":8080",
		Redis:           "redis://127.0.0.1:6379/0",
		RedisTimeout:    time.Second,
		MaxStaleness:    2 * time.Second,
		AuthMode:        AuthCookie,
		SessionTTL:      7 * 24 * time.Hour,
		MaxConnsPerIP:   256,
		ShutdownTimeout: 10 * time.Second,
		LogLevel:        slog.LevelInfo,
		LogFormat:       "text",
	}
}

// TLS reports whether counterd serves HTTPS.
func (c Config) TLS() bool { return c.TLSCert != "" }

// errHelp and errVersion end Run successfully after printing.
var (
	errHelp    = errors.New("help requested")
	errVersion = errors.New("version requested")
	errChecked = errors.New("configuration checked")
)

// cliOnly reports flags that only make sense on the command line.
func cliOnly(flagName string) bool {
	return flagName == "config" || flagName == "version" || flagName == "check-config"
}

// envName is the environment variable that sets flag name.
func envName(flagName string) string {
	return "COUNTERD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// cliFlags are the flags that are not configuration.
type cliFlags struct {
	configPath, passwordFile string
	version, check           bool
}

// newFlagSet defines every flag on cfg and cli: the one list --help, the
// environment, the YAML file and the manual page (Manual) all read.
func newFlagSet(cfg *Config, cli *cliFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("counterd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cli.configPath, "config", "", "YAML `file` with any of these flags as keys (e.g. /etc/counterd/counterd.yaml)")
	fs.BoolVar(&cli.version, "version", false, "print the version and exit")
	fs.BoolVar(&cli.check, "check-config", false, "check the configuration (flags, environment, file, password file) and exit")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "`address` to serve HTTP (HTTPS with --tls-cert) on")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "", "`address` to serve Prometheus /metrics on, apart from the public listeners (e.g. 10.0.0.5:9180; empty: no metrics)")
	fs.StringVar(&cfg.Redis, "redis", cfg.Redis, "`URL` of the local Redis node, read for the value and sessions")
	fs.StringVar(&cfg.Master, "master", "", "`URL` of the Redis master that takes writes (default: --redis)")
	fs.StringVar(&cfg.Sentinels, "sentinels", "", "comma-separated `host:port` list of the Redis Sentinels; writes then go to the master they name, followed across failovers (with --master-name, instead of --master)")
	fs.StringVar(&cfg.MasterName, "master-name", "", "`name` of the master at the --sentinels (the inventory's cluster)")
	fs.StringVar(&cli.passwordFile, "redis-password-file", "", "`file` holding the Redis password (else $COUNTERD_REDIS_PASSWORD)")
	fs.StringVar(&cfg.RedisCAFile, "redis-ca-file", "", "PEM `file` of the CAs trusted for rediss:// URLs (default: system roots)")
	fs.StringVar(&cfg.RedisCertFile, "redis-cert-file", "", "PEM client certificate `file` for rediss:// (with --redis-key-file)")
	fs.StringVar(&cfg.RedisKeyFile, "redis-key-file", "", "PEM private key `file` of --redis-cert-file")
	fs.DurationVar(&cfg.RedisTimeout, "redis-timeout", cfg.RedisTimeout, "timeout of each Redis call")
	fs.DurationVar(&cfg.MaxStaleness, "max-staleness", cfg.MaxStaleness, "age after which the held value is called old and /readyz fails")
	fs.StringVar(&cfg.AuthMode, "auth-mode", cfg.AuthMode, "`mode`: cookie (sessions) or per-request (login and password on every /inc)")
	fs.DurationVar(&cfg.SessionTTL, "session-ttl", cfg.SessionTTL, "lifetime of a login session")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate chain `file`; enables HTTPS (with --tls-key)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key `file`")
	fs.StringVar(&cfg.HTTPRedirectAddr, "http-redirect-addr", "", "with TLS: `address` of a plain HTTP listener that redirects to HTTPS (health endpoints answer directly)")
	fs.StringVar(&cfg.NodeName, "node-name", "", "`name` sent in the Counter-Node header of every answer, so a client behind a shared name sees which node answered (default: the host name)")
	fs.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", cfg.MaxConnsPerIP, "open connections one client address (IPv6: one /64) may hold, event streams included; more are closed at once (0: no cap)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long in-flight requests may finish after SIGTERM")
	fs.TextVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log `level`: debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log `format`: text or json")
	return fs
}

// parseConfig merges flags > environment > YAML file > defaults.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (Config, error) {
	cfg := DefaultConfig()
	var cli cliFlags
	fs := newFlagSet(&cfg, &cli)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, usageOut)
			return cfg, errHelp
		}
		return cfg, fmt.Errorf("%w (see counterd --help)", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see counterd --help)", fs.Arg(0))
	}
	if cli.version {
		return cfg, errVersion
	}

	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	if cli.configPath == "" {
		cli.configPath = getenv(envName("config"))
	}
	var file map[string]yamlValue
	if cli.configPath != "" {
		var err error
		if file, err = readConfigFile(cli.configPath, fs); err != nil {
			return cfg, err
		}
	}
	var setErr error
	fs.VisitAll(func(f *flag.Flag) {
		if setErr != nil || onCommandLine[f.Name] || cliOnly(f.Name) {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				setErr = fmt.Errorf("$%s: %w", envName(f.Name), err)
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := fs.Set(f.Name, v.value); err != nil {
				setErr = fmt.Errorf("%s:%d: %s: %w", cli.configPath, v.line, f.Name, err)
			}
		}
	})
	if setErr != nil {
		return cfg, setErr
	}
	if cfg.Master != "" && cfg.Sentinels != "" {
		return cfg, errors.New("--master and --sentinels: give one (the sentinels name the master)")
	}
	if cfg.Master == "" && cfg.Sentinels == "" {
		cfg.Master = cfg.Redis
	}
	if cfg.NodeName == "" {
		// Unset, the machine's name: a header naming nothing helps nobody.
		cfg.NodeName, _ = os.Hostname()
	}
	if cli.passwordFile != "" {
		b, err := os.ReadFile(cli.passwordFile)
		if err != nil {
			return cfg, fmt.Errorf("redis password: %w", err)
		}
		cfg.RedisPassword = strings.TrimRight(string(b), "\r\n")
	} else {
		cfg.RedisPassword = getenv("COUNTERD_REDIS_PASSWORD")
	}
	if err := cfg.validate(); err != nil {
		return cfg, err
	}
	if cli.check {
		return cfg, errChecked
	}
	return cfg, nil
}

func (c Config) validate() error {
	var errs []error
	urls := map[string]string{"--redis": c.Redis}
	if c.Sentinels == "" {
		urls["--master"] = c.Master
	}
	for name, u := range urls {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "redis" && p.Scheme != "rediss" && p.Scheme != "unix") {
			// The URL may hold a password: never echo it.
			errs = append(errs, fmt.Errorf("%s: want redis://host:port/db, rediss://... or unix:///path", name))
		}
	}
	errs = append(errs, c.validateSentinels()...)
	if c.AuthMode != AuthCookie && c.AuthMode != AuthPerRequest {
		errs = append(errs, fmt.Errorf("--auth-mode %q: want cookie or per-request", c.AuthMode))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.MetricsListen != "" && (c.MetricsListen == c.Listen || c.MetricsListen == c.HTTPRedirectAddr) {
		errs = append(errs, fmt.Errorf("--metrics-listen %q: must differ from --listen and --http-redirect-addr, which are public", c.MetricsListen))
	}
	if c.HTTPRedirectAddr != "" && !c.TLS() {
		errs = append(errs, errors.New("--http-redirect-addr needs --tls-cert and --tls-key"))
	}
	if c.NodeName != "" && !validNodeName(c.NodeName) {
		errs = append(errs, fmt.Errorf("--node-name %q: want letters, digits, '-', '_' and '.', at most 253", c.NodeName))
	}
	if c.MaxConnsPerIP < 0 {
		errs = append(errs, fmt.Errorf("--max-conns-per-ip %d: want 0 (no cap) or more", c.MaxConnsPerIP))
	}
	for name, d := range map[string]time.Duration{"--redis-timeout": c.RedisTimeout, "--max-staleness": c.MaxStaleness,
		"--session-ttl": c.SessionTTL, "--shutdown-timeout": c.ShutdownTimeout} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %v: must be positive", name, d))
		}
	}
	return errors.Join(errs...)
}

// SentinelAddrs is --sentinels as a list; nil without.
func (c Config) SentinelAddrs() []string {
	if c.Sentinels == "" {
		return nil
	}
	var out []string
	for a := range strings.SplitSeq(c.Sentinels, ",") {
		out = append(out, strings.TrimSpace(a))
	}
	return out
}

func (c Config) validateSentinels() []error {
	if c.Sentinels == "" {
		if c.MasterName != "" {
			return []error{errors.New("--master-name needs --sentinels")}
		}
		return nil
	}
	var errs []error
	if c.MasterName == "" {
		errs = append(errs, errors.New("--sentinels needs --master-name (the name the sentinels monitor)"))
	}
	if strings.HasPrefix(c.Redis, "unix:") {
		errs = append(errs, errors.New("--sentinels needs --redis as redis:// or rediss://: its user, password and TLS are used for the master and the sentinels"))
	}
	seen := map[string]bool{}
	for _, a := range c.SentinelAddrs() {
		host, port, err := net.SplitHostPort(a)
		n, perr := strconv.Atoi(port)
		switch {
		case err != nil || host == "":
			errs = append(errs, fmt.Errorf("--sentinels %q: want host:port", a))
		case perr != nil || n < 1 || n > 65535:
			errs = append(errs, fmt.Errorf("--sentinels %q: port must be 1-65535", a))
		case seen[a]:
			errs = append(errs, fmt.Errorf("--sentinels %q: listed twice", a))
		}
		seen[a] = true
	}
	return errs
}

// validNodeName accepts host names and inventory node names: they go into
// a response header as they are, so nothing that could end or fold it.
func validNodeName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

type yamlValue struct {
	value string
	line  int
}

// readConfigFile reads a flat YAML mapping of flag names to scalars; unknown or repeated keys are errors.
func readConfigFile(path string, fs *flag.FlagSet) (map[string]yamlValue, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]yamlValue{}
	if len(doc.Content) == 0 {
		return out, nil // an empty file sets nothing
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of option names to values", path, m.Line)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if fs.Lookup(k.Value) == nil || cliOnly(k.Value) {
			return nil, fmt.Errorf("%s:%d: unknown key %q", path, k.Line, k.Value)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("%s:%d: key %q repeated", path, k.Line, k.Value)
		}
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d: %s: want a single value", path, v.Line, k.Value)
		}
		out[k.Value] = yamlValue{value: v.Value, line: v.Line}
	}
	return out, nil
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, `Usage: counterd [flags]

counterd serves the global counter page and its API from Redis: reads from the
local node (--redis), writes to the master: the fixed --master, or the one the
--sentinels name for --master-name, followed across failovers.

Every flag can also be set as $COUNTERD_<FLAG> (e.g. --max-staleness as
$COUNTERD_MAX_STALENESS) or as a key of the --config YAML file (or
$COUNTERD_CONFIG; e.g. "max-staleness: 2s"; unknown keys are errors).
Precedence: flag > environment > file > default.
The Redis password is read from --redis-password-file or $COUNTERD_REDIS_PASSWORD,
never from a flag.

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
