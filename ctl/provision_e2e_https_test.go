//go:build !node

package ctl_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/provisioning/inventory"
)

// frontDoorAnswer is what curl saw of one request: the status, the HTTP
// version, the Location and Counter-Node headers, and the address curl
// connected to (what the name resolved to).
type frontDoorAnswer struct {
	code              int
	version           string
	location, nodeHdr string
	remote            string
}

// curlHead requests url from a lab client (which trusts the lab CA, see
// lab exec), without following redirects, and reports the answer.
func (e *e2e) curlHead(client string, args ...string) (frontDoorAnswer, error) {
	argv := append([]string{"exec", client, "--", "curl", "-sS", "-m", "5", "-o", "/dev/null", "-D", "-",
		"-w", "\nstatus %{http_code} version %{http_version}\nremote %{remote_ip}\n"}, args...)
	out, err := e.lab(30*time.Second, argv...)
	if err != nil {
		return frontDoorAnswer{}, err
	}
	var a frontDoorAnswer
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		k, v, _ := strings.Cut(l, ":")
		switch strings.ToLower(k) {
		case "location":
			a.location = strings.TrimSpace(v)
		case "counter-node":
			a.nodeHdr = strings.TrimSpace(v)
		}
		if f := strings.Fields(l); len(f) == 4 && f[0] == "status" {
			a.code, _ = strconv.Atoi(f[1])
			a.version = f[3]
		} else if len(f) == 2 && f[0] == "remote" {
			a.remote = f[1]
		}
	}
	return a, nil
}

// checkHTTPS: from each continent's client, its node answers HTTPS verified
// against the lab CA (curl without -k, by address and by the zone's names
// through --resolve), over HTTP/2, naming itself in Counter-Node; plain
// HTTP redirects there, except /healthz, which answers on port 80.
func checkHTTPS(t *testing.T, e *e2e, inv *inventory.Inventory) {
	zone := strings.TrimSuffix(inv.DNS.Zone, ".")
	for _, n := range inv.Nodes {
		svc := inv.DNS.Service + "." + zone
		for _, name := range []string{"", svc, n.Continent + "." + svc, n.Name + ".nodes." + zone} {
			url, args := "https://"+n.Address+"/", []string{}
			if name != "" {
				url, args = "https://"+name+"/", []string{"--resolve", name + ":443:" + n.Address}
			}
			a, err := e.curlHead(client(n), append(args, url)...)
			if err != nil || a.code != http.StatusOK || a.version != "2" || a.nodeHdr != n.Name {
				t.Errorf("%s: GET %s from %s = %+v, %v; want 200 over HTTP/2 with Counter-Node %s, verified against the lab CA",
					n.Name, url, client(n), a, err, n.Name)
			}
		}
		a, err := e.curlHead(client(n), "http://"+n.Address+"/getvalue")
		if want := "https://" + n.Address + "/getvalue"; err != nil || a.code != http.StatusPermanentRedirect || a.location != want || a.nodeHdr != n.Name {
			t.Errorf("%s: GET http://%s/getvalue = %+v, %v; want 308 to %s naming the node", n.Name, n.Address, a, err, want)
		}
		a, err = e.curlHead(client(n), "http://"+n.Address+"/healthz")
		if err != nil || a.code != http.StatusOK || a.location != "" {
			t.Errorf("%s: GET http://%s/healthz = %+v, %v; want 200 on port 80 itself", n.Name, n.Address, a, err)
		}
	}
}
