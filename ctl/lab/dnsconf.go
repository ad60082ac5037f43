package lab

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
)

// TSIG is the key the DNS server takes RFC 2136 updates with.
type TSIG struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Secret    string `json:"-"`
}

// knotConf serves one zone from /var/lib/knot and accepts updates only when
// signed with the lab's TSIG key; Knot 3.2 answers unsigned updates, and
// those with a bad signature, with NOTAUTH (BIND would say REFUSED). When
// the zone changes it sends each of notify (the nodes that serve it as
// secondaries) a NOTIFY signed with that key; with none, it sends none and
// keeps Knot's default timeouts.
func knotConf(zone string, key TSIG, notify []Member) ([]byte, error) {
	ids := make([]string, len(notify))
	for i, m := range notify {
		ids[i] = "node-" + m.Name
	}
	var b bytes.Buffer
	// Every value is validated (zone, member names), typed (addresses) or
	// made by the lab (the key), so none needs quoting.
	err := knotConfTmpl.Execute(&b, map[string]any{
		"Zone": zone, "File": strings.TrimSuffix(zone, ".") + ".zone", "Key": key,
		"Notify": notify, "NotifyIDs": strings.Join(ids, ", "),
	})
	if err != nil {
		return nil, fmt.Errorf("render knot.conf: %w", err)
	}
	return b.Bytes(), nil
}

// Knot sends NOTIFYs to one secondary after another, and the zone's updates
// wait meanwhile (one zone event at a time; with knotd 3.2.6, an update sent
// during NOTIFYs to two silent remotes waited 8.9 s). A killed or
// partitioned node drops the packets, so each NOTIFY to it would hold the
// updates for the default 5 s; 1 s is well over the matrix's longest RTT
// (340 ms) for each of connect and answer, and a node that timed out is
// skipped for 30 s after. A NOTIFY missed costs a secondary no more than
// its own refresh interval.
var knotConfTmpl = template.Must(template.New("knot.conf").Parse(`# Written by counterctl lab.
server:
    listen: [ 0.0.0.0@53 ]
{{- if .Notify}}
    tcp-remote-io-timeout: 1000
    remote-retry-delay: 30000
{{- end}}

log:
  - target: syslog
    any: info

key:
  - id: {{.Key.Name}}
    algorithm: {{.Key.Algorithm}}
    secret: {{.Key.Secret}}
{{- if .Notify}}

# The nodes serve the zone as secondaries: NOTIFY them of each change.
remote:
{{- range .Notify}}
  - id: node-{{.Name}}
    address: {{.Address}}@53
    key: {{$.Key.Name}}
{{- end}}
{{- end}}

acl:
  - id: lab-update
    key: {{.Key.Name}}
    action: [ update, transfer ]

template:
  - id: default
    storage: /var/lib/knot
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all

zone:
  - domain: {{.Zone}}
    file: {{.File}}
    acl: lab-update
{{- if .Notify}}
    notify: [ {{.NotifyIDs}} ]
{{- end}}
`))

// zoneFile is the lab zone's starting content: SOA, NS and the server's address.
func zoneFile(zone string, dns Member) string {
	return fmt.Sprintf(`$ORIGIN %s
$TTL 60
@   SOA ns hostmaster 1 3600 600 86400 60
@   NS  ns
ns  A   %s
`, zone, dns.Address)
}

// writeDNSConfig puts Knot's configuration and zone into the dns node's
// overlay; notify are the nodes that serve the zone as its secondaries.
func writeDNSConfig(upper, layer, zone string, dns Member, key TSIG, notify []Member) error {
	uid, gid, err := lookupUser(filepath.Join(layer, "etc/passwd"), "knot")
	if err != nil {
		return fmt.Errorf("knot layer: %w", err)
	}
	kc, err := knotConf(zone, key, notify)
	if err != nil {
		return err
	}
	conf := filepath.Join(upper, "etc/knot/knot.conf")
	if err := writeFile(conf, kc, 0o640); err != nil {
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
