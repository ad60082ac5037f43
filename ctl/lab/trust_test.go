package lab

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"counter/provisioning/pki"
)

// TestClientsTrustTheLabCA: the bundle `lab exec` hands its commands
// verifies a server certificate issued from the lab's cluster CA (the one
// provision uses, in pki_dir), keeps the system roots, and `lab exec`'s
// environment points curl and Go at it, also where the host points them
// at the system bundle.
func TestClientsTrustTheLabCA(t *testing.T) {
	st := newState(t.TempDir())
	if err := st.writeClientTrust(labCluster, time.Now()); err != nil {
		t.Fatal(err)
	}
	ca, created, err := pki.LoadOrCreateCA(st.path("pki"), labCluster, time.Now())
	if err != nil || created {
		t.Fatalf("provision's LoadOrCreateCA on the lab's pki_dir: created=%v, %v; want the lab's CA loaded", created, err)
	}
	bundle, err := os.ReadFile(st.ClientCAFile())
	if err != nil {
		t.Fatal(err)
	}
	if sys, err := os.ReadFile(systemBundle); err == nil && len(sys) > 0 && string(bundle[:len(sys)]) != string(sys) {
		t.Errorf("the clients' bundle does not start with the system bundle %s", systemBundle)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		t.Fatal("the clients' bundle holds no certificate")
	}

	// A real server with a node certificate from that CA, verified as curl would.
	certPEM, keyPEM, err := ca.Issue("node", []string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatalf("GET over TLS trusting the clients' bundle: %v", err)
	}
	resp.Body.Close()

	env := st.clientEnv([]string{"PATH=/usr/bin"})
	for _, want := range []string{"SSL_CERT_FILE=" + st.ClientCAFile(), "CURL_CA_BUNDLE=" + st.ClientCAFile()} {
		if !slices.Contains(env, want) {
			t.Errorf("lab exec environment %q lacks %s", env, want)
		}
	}
	// Hosts point these at the system bundle already; the lab's replaces it.
	own := []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt"}
	if env := st.clientEnv(own); !slices.Equal(env, []string{"SSL_CERT_FILE=" + st.ClientCAFile(), "CURL_CA_BUNDLE=" + st.ClientCAFile()}) {
		t.Errorf("lab exec with the system bundle set = %q, want the lab's bundle in its place", env)
	}
	if env := newState(filepath.Join(t.TempDir(), "none")).clientEnv(own); !slices.Equal(env, own) {
		t.Errorf("without a lab CA, lab exec changed the environment: %q", env)
	}
}
