package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/provisioning/pki"
)

// httpsInventory writes the front-door example with an https: section
// appended under dir and returns its path.
func httpsInventory(t *testing.T, dir, section string) string {
	t.Helper()
	base, err := os.ReadFile(filepath.Join("testdata", "frontdoor-override.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(path, append(base, []byte("\n"+section)...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writePair issues a certificate for names from a throwaway CA into dir.
func writePair(t *testing.T, dir, stem string, names ...string) {
	t.Helper()
	ca, _, err := pki.LoadOrCreateCA(filepath.Join(dir, "ca-"+stem), "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue("counter", names, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{stem + ".crt": certPEM, stem + ".key": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHTTPSCertificateFromTheInventory(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	svc := "www.counter.example.net"
	all := []string{svc}
	for _, c := range []string{"eu", "na", "sa", "asia", "africa", "oceania"} {
		all = append(all, c+"."+svc)
	}
	writePair(t, dir, "public", all...)
	writePair(t, dir, "short", svc, "eu."+svc)
	writePair(t, dir, "other", svc)

	inv, err := Load(httpsInventory(t, dir, "https: {cert_file: public.crt, key_file: public.key}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (HTTPS{CertFile: filepath.Join(dir, "public.crt"), KeyFile: filepath.Join(dir, "public.key")}); inv.HTTPS != want || !inv.HTTPS.Given() {
		t.Errorf("https = %+v, want %+v", inv.HTTPS, want)
	}
	if inv, err := Load(httpsInventory(t, dir, "")); err != nil || inv.HTTPS.Given() {
		t.Errorf("without https: %+v, %v; want none given", inv.HTTPS, err)
	}

	tests := []struct{ name, section, want string }{
		{"key missing", "https: {cert_file: public.crt}\n", "https.key_file: required"},
		{"no such file", "https: {cert_file: nope.crt, key_file: public.key}\n", "https.cert_file: open " + filepath.Join(dir, "nope.crt")},
		{"key of another certificate", "https: {cert_file: public.crt, key_file: other.key}\n", "https.cert_file: does not load with https.key_file"},
		{"continents not named", "https: {cert_file: short.crt, key_file: short.key}\n", "https.cert_file: the certificate does not name na." + svc + ", sa." + svc},
		{"unknown key", "https: {cert_file: public.crt, key_file: public.key, chain: x}\n", "https.chain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := httpsInventory(t, dir, tt.section)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want an error containing %q", err, tt.want)
			}
			checkSortedFieldErrors(t, err, path)
			if fe := FieldErrors(err); fe[len(fe)-1].Line < 80 {
				t.Errorf("error at line %d, want the https: section's (past the nodes)", fe[len(fe)-1].Line)
			}
		})
	}
}
