package lab

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TSIG is the key the DNS server takes RFC 2136 updates with.
type TSIG struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Secret    string `json:"-"`
}

// knotConf serves one zone from /var/lib/knot and accepts updates only when
// signed with the lab's TSIG key; Knot 3.2 answers unsigned updates, and
// those with a bad signature, with NOTAUTH (BIND would say REFUSED).
func knotConf(zone string, key TSIG) string {
	return fmt.Sprintf(`# Written by counterctl lab.
server:
    listen: [ 0.0.0.0@53 ]

log:
  - target: syslog
    any: info

key:
  - id: %s
    algorithm: %s
    secret: %s

acl:
  - id: lab-update
    key: %s
    action: [ update, transfer ]

template:
  - id: default
    storage: /var/lib/knot
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all

zone:
  - domain: %s
    file: %s.zone
    acl: lab-update
`, key.Name, key.Algorithm, key.Secret, key.Name, zone, strings.TrimSuffix(zone, "."))
}

// zoneFile is the lab zone's starting content: SOA, NS and the server's address.
func zoneFile(zone string, dns Member) string {
	return fmt.Sprintf(`$ORIGIN %s
$TTL 60
@   SOA ns hostmaster 1 3600 600 86400 60
@   NS  ns
ns  A   %s
`, zone, dns.Address)
}

// writeDNSConfig puts Knot's configuration and zone into the dns node's overlay.
func writeDNSConfig(upper, layer, zone string, dns Member, key TSIG) error {
	uid, gid, err := lookupUser(filepath.Join(layer, "etc/passwd"), "knot")
	if err != nil {
		return fmt.Errorf("knot layer: %w", err)
	}
	conf := filepath.Join(upper, "etc/knot/knot.conf")
	if err := writeFile(conf, []byte(knotConf(zone, key)), 0o640); err != nil {
		return err
	}
	zf := filepath.Join(upper, "var/lib/knot", strings.TrimSuffix(zone, ".")+".zone")
	if err := writeFile(zf, []byte(zoneFile(zone, dns)), 0o644); err != nil {
		return err
	}
	for _, p := range []string{conf, zf, filepath.Dir(zf)} {
		if err := os.Chown(p, 0, gid); err != nil {
			return err
		}
	}
	// Knot keeps its journal and timers next to the zone.
	return os.Chown(filepath.Dir(zf), uid, gid)
}

// lookupUser reads a user's uid and gid from an image's /etc/passwd.
func lookupUser(passwd, name string) (uid, gid int, err error) {
	f, err := os.Open(passwd)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Split(sc.Text(), ":")
		if len(fl) >= 4 && fl[0] == name {
			uid, err1 := strconv.Atoi(fl[2])
			gid, err2 := strconv.Atoi(fl[3])
			if err1 != nil || err2 != nil {
				return 0, 0, fmt.Errorf("%s: bad entry for %s", passwd, name)
			}
			return uid, gid, nil
		}
	}
	return 0, 0, fmt.Errorf("%s: no user %s", passwd, name)
}
