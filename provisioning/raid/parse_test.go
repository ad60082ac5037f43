package raid

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"counter/internal/testutil"
	"counter/provisioning/nagios"
)

// parsers maps each tool to its parser, reduced to "did it accept the input".
var parsers = []struct {
	name  string
	glob  string
	parse func([]byte) error
}{
	{"mdstat", "mdstat/*.txt", func(b []byte) error { _, err := parseMdstat(b); return err }},
	{"mdadm", "mdadm/*.txt", func(b []byte) error { _, err := parseMdadmDetail(b); return err }},
	{"storcli", "storcli/*.json", func(b []byte) error { _, _, err := parseStorcli(b); return err }},
	{"ssacli", "ssacli/*.txt", func(b []byte) error { _, _, err := parseSsacli(b); return err }},
	{"megacli-ldinfo", "megacli/*-ldinfo.txt", func(b []byte) error { _, err := parseMegaLDInfo(b); return err }},
	{"megacli-bbu", "megacli/*-bbu.txt", func(b []byte) error { _, err := parseMegaBBU(b); return err }},
}

func fixtures(tb testing.TB, glob string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no fixtures match %s: %v", glob, err)
	}
	for i, f := range files {
		files[i] = strings.TrimPrefix(f, "testdata"+string(filepath.Separator))
	}
	return files
}

func TestParsersAcceptTheirFixtures(t *testing.T) {
	for _, p := range parsers {
		for _, f := range fixtures(t, p.glob) {
			if err := p.parse(testutil.ReadFile(t, filepath.Join("testdata", f))); err != nil {
				t.Errorf("%s(%s) = %v, want it parsed", p.name, f, err)
			}
		}
	}
}

func TestParsersRejectGarbage(t *testing.T) {
	garbage := []struct {
		name  string
		input string
	}{
		{"empty", ""},
		{"blank", "\n\n   \n"},
		{"prose", "hello world\n"},
		{"binary", "\x00\x01\x02\xff\xfe garbage\n"},
		{"json object", "{\"Controllers\":[]}\n"},
		{"json array", "[1, 2, 3]\n"},
		{"shell error", "sh: 1: storcli64: not found\n"},
	}
	for _, p := range parsers {
		for _, g := range garbage {
			t.Run(p.name+"/"+g.name, func(t *testing.T) {
				if err := p.parse([]byte(g.input)); !errors.Is(err, ErrUnparsable) {
					t.Errorf("%s(%q) = %v, want ErrUnparsable", p.name, g.input, err)
				}
			})
		}
	}
}

// Each tool's parser must refuse the other tools' genuine output.
func TestParsersRejectOtherToolsOutput(t *testing.T) {
	for _, p := range parsers {
		for _, other := range parsers {
			if other.name == p.name {
				continue
			}
			f := fixtures(t, other.glob)[0]
			if err := p.parse(testutil.ReadFile(t, filepath.Join("testdata", f))); !errors.Is(err, ErrUnparsable) {
				t.Errorf("%s(%s) = %v, want ErrUnparsable", p.name, f, err)
			}
		}
	}
}

// A cut in the middle of a line is caught for every tool.
func TestParsersRejectTruncatedOutput(t *testing.T) {
	for _, p := range parsers {
		for _, f := range fixtures(t, p.glob) {
			data := testutil.ReadFile(t, filepath.Join("testdata", f))
			for _, frac := range []float64{0.25, 0.5, 0.75, 0.99} {
				n := int(float64(len(data)) * frac)
				for n > 1 && (data[n-1] == '\n' || data[n-1] == ' ') {
					n--
				}
				if err := p.parse(data[:n]); !errors.Is(err, ErrUnparsable) {
					t.Errorf("%s(%s cut at %d of %d) = %v, want ErrUnparsable", p.name, f, n, len(data), err)
				}
			}
		}
	}
}

// For the line-oriented formats with a closing marker or counts, a cut at any
// line boundary is caught too. ssacli has neither, see TestSsacliTruncatedLogicalDrive.
func TestParsersRejectOutputCutAtAnyLine(t *testing.T) {
	for _, p := range parsers {
		if p.name == "storcli" || p.name == "ssacli" {
			continue
		}
		for _, f := range fixtures(t, p.glob) {
			data := string(testutil.ReadFile(t, filepath.Join("testdata", f)))
			lines := strings.SplitAfter(strings.TrimRight(data, "\n")+"\n", "\n")
			for k := 1; k < len(lines)-1; k++ {
				cut := strings.Join(lines[:k], "")
				if strings.TrimSpace(cut) == strings.TrimSpace(data) {
					continue // only blank lines were dropped
				}
				if err := p.parse([]byte(cut)); !errors.Is(err, ErrUnparsable) {
					t.Errorf("%s(%s, first %d of %d lines) = %v, want ErrUnparsable", p.name, f, k, len(lines), err)
				}
			}
		}
	}
}

func TestSsacliTruncatedLogicalDrive(t *testing.T) {
	data := string(testutil.ReadFile(t, filepath.Join("testdata", "ssacli/healthy.txt")))
	cut := data[:strings.Index(data, "         Status: OK\n         MultiDomain")]
	_, _, err := parseSsacli([]byte(cut))
	if !errors.Is(err, ErrUnparsable) || !strings.Contains(err.Error(), "logical drive 1 has no Status") {
		t.Errorf("parseSsacli(cut before the logical drive's status) = %v, want ErrUnparsable naming it", err)
	}
}

func TestStorcliUnknownStatesAreUnknown(t *testing.T) {
	data := strings.NewReplacer(
		"\"TYPE\" : \"RAID1\",\n                \"State\" : \"Optl\"", "\"TYPE\" : \"RAID1\",\n                \"State\" : \"Zzz\"",
		"\"DID\" : 7,\n                \"State\" : \"DHS\"", "\"DID\" : 7,\n                \"State\" : \"Weird\"",
	).Replace(string(testutil.ReadFile(t, filepath.Join("testdata", "storcli/healthy-bbu.json"))))
	ctrls, arrays, err := parseStorcli([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	r := Report{Policy: PolicyRequired, Controllers: ctrls, Arrays: arrays}
	grade(&r)
	if r.Severity != nagios.Unknown {
		t.Errorf("severity = %s, want UNKNOWN; problems %q", r.Severity, r.Problems)
	}
	for _, want := range []string{`c0/v0 (raid1) in unknown state "Zzz"`, `drive 252:2 in unknown state "Weird"`} {
		if !strings.Contains(r.Summary, want) {
			t.Errorf("summary %q lacks %q", r.Summary, want)
		}
	}
}

func TestParseMdadmDetailGolden(t *testing.T) {
	for _, f := range fixtures(t, "mdadm/*.txt") {
		d, err := parseMdadmDetail(testutil.ReadFile(t, filepath.Join("testdata", f)))
		if err != nil {
			t.Fatalf("parseMdadmDetail(%s): %v", f, err)
		}
		js, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		testutil.Golden(t, filepath.Join("testdata", strings.TrimSuffix(f, ".txt")+".golden.json"), append(js, '\n'))
	}
}

func TestMergeMdadmRejectsOtherArray(t *testing.T) {
	d, err := parseMdadmDetail(testutil.ReadFile(t, filepath.Join("testdata", "mdadm/md0-clean.txt")))
	if err != nil {
		t.Fatal(err)
	}
	a := Array{Name: "md1", Status: StatusOptimal}
	if err := mergeMdadm(&a, d); err == nil || !strings.Contains(err.Error(), "described /dev/md0") {
		t.Errorf("mergeMdadm(md1, detail of md0) = %v, want a mismatch error", err)
	}
}
