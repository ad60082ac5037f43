package lab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"counter/provisioning/pki"
)

// systemBundle is Debian's CA bundle (ca-certificates), which OpenSSL's
// curl and Go read by default.
const systemBundle = "/etc/ssl/certs/ca-certificates.crt"

// ClientCAFile is the bundle the lab's clients trust: the system roots and
// the lab's cluster CA, so `lab exec client-eu -- curl https://NODE/`
// verifies the node's certificate.
func (st *State) ClientCAFile() string { return st.path("pki", "clients-ca.crt") }

// writeClientTrust creates the lab's cluster CA in the inventory's pki_dir
// (provision then issues the nodes' certificates from it, as it would from
// an admin's own CA put there) and the clients' bundle.
func (st *State) writeClientTrust(cluster string, now time.Time) error {
	ca, _, err := pki.LoadOrCreateCA(st.path("pki"), cluster, now)
	if err != nil {
		return fmt.Errorf("lab CA: %w", err)
	}
	bundle, err := os.ReadFile(systemBundle)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("system CA bundle: %w", err)
	}
	if len(bundle) > 0 && bundle[len(bundle)-1] != '\n' {
		bundle = append(bundle, '\n')
	}
	return writeFile(st.ClientCAFile(), append(bundle, ca.CertPEM()...), 0o644)
}

// clientEnv is environ with the lab's trust for commands run by `lab exec`:
// OpenSSL (curl, Python) and Go read SSL_CERT_FILE, curl also
// CURL_CA_BUNDLE. They are replaced, not kept: hosts often point them at
// the system bundle already, which the lab's bundle includes.
func (st *State) clientEnv(environ []string) []string {
	if _, err := os.Stat(st.ClientCAFile()); err != nil {
		return environ
	}
	vars := []string{"SSL_CERT_FILE", "CURL_CA_BUNDLE"}
	out := slices.DeleteFunc(slices.Clone(environ), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(vars, k)
	})
	for _, k := range vars {
		out = append(out, k+"="+st.ClientCAFile())
	}
	return out
}
