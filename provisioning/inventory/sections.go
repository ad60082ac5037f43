package inventory

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults for the `ssh:` section.
const (
	DefaultSSHUser        = "root"
	DefaultSSHPort        = 22
	DefaultKnownHosts     = "~/.ssh/known_hosts"
	DefaultConnectTimeout = 10 * time.Second
	DefaultCommandTimeout = 10 * time.Minute
)

func decode(data []byte, opts decodeOptions) (*Inventory, error) {
	d := &decoder{decodeOptions: opts}
	root := d.parse(data)
	if root == nil {
		return nil, d.err()
	}
	top, ok := d.mapping(root, "", "cluster", "dns", "anycast", "ssh", "admin_networks", "secrets", "pki_dir", "https", "raid", "health", "nodes")
	if !ok {
		return nil, d.err()
	}
	inv := &Inventory{RAID: RAIDRequired, PKIDir: opts.dir + "/pki"}
	if v := d.require(top, "cluster"); v != nil {
		inv.Cluster, _ = d.name(v, "cluster")
	}
	if v := d.require(top, "dns"); v != nil {
		inv.DNS = d.dns(v)
	}
	if v := top.get("anycast"); v != nil {
		inv.Anycast = d.anycast(v)
	}
	inv.SSH = SSH{User: DefaultSSHUser, Port: DefaultSSHPort, ConnectTimeout: DefaultConnectTimeout, CommandTimeout: DefaultCommandTimeout}
	if d.home != "" {
		inv.SSH.KnownHosts = d.home + strings.TrimPrefix(DefaultKnownHosts, "~")
	}
	if v := top.get("ssh"); v != nil {
		inv.SSH = d.ssh(v, "ssh", inv.SSH)
	}
	if v := d.require(top, "admin_networks"); v != nil {
		inv.AdminNetworks = d.networks(v)
	}
	if v := d.require(top, "secrets"); v != nil {
		inv.Secrets = d.secrets(v)
	}
	if v := top.get("pki_dir"); v != nil {
		inv.PKIDir, _ = d.path(v, "pki_dir")
	}
	if v := top.get("raid"); v != nil {
		s, _ := d.oneOf(v, "raid", "raid policy", string(RAIDRequired), string(RAIDOptional), string(RAIDNone))
		inv.RAID = RAIDPolicy(s)
	}
	inv.Health = DefaultHealth()
	if v := top.get("health"); v != nil {
		inv.Health = d.health(v)
	}
	if v := d.require(top, "nodes"); v != nil {
		inv.Nodes = d.nodes(v, inv.SSH)
	}
	if v := top.get("anycast"); v != nil {
		d.anycastDistinct(v, inv.Anycast, inv.Nodes)
	}
	d.bgpChecks(inv.Anycast, inv.Nodes)
	if v := top.get("https"); v != nil {
		var leaf *x509.Certificate
		inv.HTTPS, leaf = d.https(v)
		d.httpsNames(v, leaf, inv)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return inv, nil
}

func (d *decoder) dns(n *yaml.Node) DNS {
	out := DNS{Service: DefaultDNSService, TTL: DefaultDNSTTL}
	m, ok := d.mapping(n, "dns", "zone", "server", "service", "ttl", "tsig", "secondary")
	if !ok {
		return out
	}
	if v := m.get("service"); v != nil {
		out.Service, _ = d.label(v, "dns.service")
	}
	if v := m.get("ttl"); v != nil {
		out.TTL, _ = d.ttl(v, "dns.ttl")
	}
	if v := d.require(m, "zone"); v != nil {
		out.Zone, _ = d.fqdn(v, "dns.zone")
	}
	if v := d.require(m, "server"); v != nil {
		out.Server, _ = d.hostPort(v, "dns.server", 53)
	}
	if v := m.get("secondary"); v != nil {
		out.Secondary, _ = d.boolean(v, "dns.secondary")
		if out.Secondary && out.Server != "" {
			if _, err := netip.ParseAddrPort(out.Server); err != nil {
				d.failf(v, "dns.secondary", "needs dns.server as an IP address (the nodes' Knot transfers the zone from an address, not a name), got %s", out.Server)
			}
		}
	}
	v := d.require(m, "tsig")
	if v == nil {
		return out
	}
	t, ok := d.mapping(v, "dns.tsig", "name", "algorithm", "secret_file", "secret_env")
	if !ok {
		return out
	}
	if v := d.require(t, "name"); v != nil {
		out.TSIG.Name, _ = d.fqdn(v, "dns.tsig.name")
	}
	if v := d.require(t, "algorithm"); v != nil {
		out.TSIG.Algorithm, _ = d.oneOf(v, "dns.tsig.algorithm", "TSIG algorithm", "hmac-sha256", "hmac-sha512")
	}
	out.TSIG.Secret, _ = d.secretRef(t, "secret_file", "secret_env")
	return out
}

// ssh decodes an `ssh:` section over base, so a node override keeps the defaults it omits.
func (d *decoder) ssh(n *yaml.Node, path string, base SSH) SSH {
	m, ok := d.mapping(n, path, "user", "port", "key_file", "known_hosts", "connect_timeout", "command_timeout")
	if !ok {
		return base
	}
	out := base
	if v := m.get("user"); v != nil {
		if s, ok := d.str(v, join(path, "user")); ok {
			if userRE.MatchString(s) {
				out.User = s
			} else {
				d.failf(v, join(path, "user"), "bad user name %q", s)
			}
		}
	}
	if v := m.get("port"); v != nil {
		out.Port, _ = d.port(v, join(path, "port"))
	}
	if v := m.get("key_file"); v != nil {
		out.KeyFile, _ = d.path(v, join(path, "key_file"))
	}
	if v := m.get("known_hosts"); v != nil {
		out.KnownHosts, _ = d.path(v, join(path, "known_hosts"))
	}
	if v := m.get("connect_timeout"); v != nil {
		out.ConnectTimeout, _ = d.duration(v, join(path, "connect_timeout"))
	}
	if v := m.get("command_timeout"); v != nil {
		out.CommandTimeout, _ = d.duration(v, join(path, "command_timeout"))
	}
	if out.KnownHosts == "" && path == "ssh" {
		d.failf(n, join(path, "known_hosts"), "required: no home directory to default to %s", DefaultKnownHosts)
	}
	return out
}

func (d *decoder) networks(n *yaml.Node) []netip.Prefix {
	if n.Kind != yaml.SequenceNode {
		d.failf(n, "admin_networks", "want a list of CIDRs, got %s", describe(n))
		return nil
	}
	if len(n.Content) == 0 {
		d.failf(n, "admin_networks", "empty: SSH to the master and mirror is firewalled to these networks, so at least one is needed")
		return nil
	}
	var out []netip.Prefix
	for i, c := range n.Content {
		field := fmt.Sprintf("admin_networks[%d]", i)
		s, ok := d.str(resolve(c), field)
		if !ok {
			continue
		}
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			d.failf(c, field, "bad CIDR %q (want e.g. 203.0.113.0/24 or 2001:db8::/48)", s)
		case p != p.Masked():
			d.failf(c, field, "%q has host bits set; did you mean %s?", s, p.Masked())
		default:
			out = append(out, p)
		}
	}
	return out
}

func (d *decoder) secrets(n *yaml.Node) map[string]SecretRef {
	out := map[string]SecretRef{}
	seen := map[string]bool{}
	if n.Kind != yaml.MappingNode {
		d.failf(n, "secrets", "want a mapping of name: {file: PATH} or {env: VAR}, got %s", describe(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		field := "secrets." + k.Value
		if seen[k.Value] {
			d.failf(k, field, "repeated secret")
			continue
		}
		seen[k.Value] = true
		if v.Kind != yaml.MappingNode {
			// Never echo the value: it may be the secret itself.
			d.failf(v, field, "want {file: PATH} or {env: VAR}; secrets are never written inline")
			continue
		}
		m, _ := d.mapping(v, field, "file", "env")
		if ref, ok := d.secretRef(m, "file", "env"); ok {
			out[k.Value] = ref
		}
	}
	// The provisioner reads these, so their absence is caught before connecting.
	for _, name := range SecretNames() {
		if !seen[name] {
			d.failf(n, "secrets."+name, "required (the provisioner reads it)")
		}
	}
	return out
}

// SecretNames are the secrets the provisioner reads, each a must under
// secrets:. The Redis ACL users counterd, replication and sentinel; the
// sentinels' users sentinel-peer and counterctl (counterd logs in to the
// sentinels with its Redis password).
func SecretNames() []string {
	return []string{"redis_counterd_password", "redis_replication_password",
		"redis_sentinel_password", "sentinel_peer_password", "sentinel_counterctl_password"}
}

// secretRef reads a reference given as exactly one of fileKey and envKey.
func (d *decoder) secretRef(m mapping, fileKey, envKey string) (SecretRef, bool) {
	fv, ev := m.get(fileKey), m.get(envKey)
	switch {
	case fv != nil && ev != nil:
		d.failf(ev, join(m.path, envKey), "give either %s or %s, not both", fileKey, envKey)
	case fv == nil && ev == nil:
		d.failf(m.node, m.path, "missing %s: or %s: (secrets are never written inline)", fileKey, envKey)
	case fv != nil:
		p, ok := d.path(fv, join(m.path, fileKey))
		return SecretRef{File: p}, ok
	default:
		s, ok := d.str(ev, join(m.path, envKey))
		if ok && !envRE.MatchString(s) {
			d.failf(ev, join(m.path, envKey), "bad environment variable name %q", s)
			ok = false
		}
		return SecretRef{Env: s}, ok
	}
	return SecretRef{}, false
}

// host checks an IP address or a DNS host name.
func (d *decoder) host(n *yaml.Node, field string) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return s, true
	}
	if !isHostname(strings.TrimSuffix(s, ".")) {
		d.failf(n, field, "%q is neither an IP address nor a host name", s)
		return "", false
	}
	return s, true
}

func (d *decoder) fqdn(n *yaml.Node, field string) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	s = strings.TrimSuffix(s, ".")
	if !isHostname(s) {
		d.failf(n, field, "%q is not a DNS name", n.Value)
		return "", false
	}
	return s + ".", true
}

// hostPort parses "host" or "host:port" (IPv6 in brackets) and adds defPort.
func (d *decoder) hostPort(n *yaml.Node, field string, defPort int) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	host, port := s, strconv.Itoa(defPort)
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if _, err := netip.ParseAddr(s); err != nil && strings.Contains(s, ":") {
		d.failf(n, field, "bad address %q (want host or host:port; IPv6 as [addr]:port)", s)
		return "", false
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		d.failf(n, field, "port %q out of range (want 1-65535)", port)
		return "", false
	}
	if _, err := netip.ParseAddr(host); err != nil && !isHostname(strings.TrimSuffix(host, ".")) {
		d.failf(n, field, "%q is neither an IP address nor a host name", host)
		return "", false
	}
	return net.JoinHostPort(host, port), true
}

// isHostname reports whether s is a DNS name of letters, digits and dashes (RFC 1123).
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// boolean reads a YAML true or false (not "yes", not a string).
func (d *decoder) boolean(n *yaml.Node, field string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.failf(n, field, "want true or false, got %s", describe(n))
		return false, false
	}
	return n.Value == "true", true
}
