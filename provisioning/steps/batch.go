package steps

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"

	"counter/provisioning/host"
	"counter/provisioning/sshx"
)

// batchScript runs many read-only commands in one SSH round trip. Its
// arguments are groups: a count n, then n words of one argv. For each it
// prints the exit status and the base64 of its stdout on one line. The
// commands arrive as arguments, never pasted into the script.
const batchScript = `t=$(mktemp) || exit 1
trap 'rm -f "$t"' EXIT
while (($#)); do
	n=$1
	shift
	"${@:1:n}" >"$t" 2>/dev/null </dev/null
	rc=$?
	shift "$n"
	printf '%d %s\n' "$rc" "$(base64 -w0 <"$t")"
done`

// Batched is a host whose foreseeable reads are fetched together, in one
// command, the first time a step asks for one of them. Across continents a
// command costs a few round trips of up to 300 ms, and a provisioned node
// needs some fifty reads to show it is already as wanted; fetched one by
// one they would make a no-op run take minutes.
//
// A fetched answer is served until the host changes (any ensure or exec
// that changed something, which drops them all), so steps read the host as
// it is. Writes and describes go to the inner host unchanged.
type Batched struct {
	host.Host
	reads [][]string
	keys  map[string]bool // key of each of reads
	w     FileWriter
	st    *batchState
}

// FileWriter replaces a file atomically with owner and mode in one
// command: the batch already knows the old content, and an SFTP write
// costs a round trip per 32 KiB (minutes for a package across an ocean).
type FileWriter interface {
	WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode, owner, group string) error
}

type batchState struct {
	mu      sync.Mutex
	fetched bool
	answers map[string]answer
}

type answer struct {
	code int
	out  []byte
}

var _ host.Host = (*Batched)(nil)

// NewBatched wraps h; reads are the argvs to fetch together. With a
// FileWriter, files whose state the batch knows are written through it;
// without, every changed file goes to h.EnsureFile.
func NewBatched(h host.Host, reads [][]string, w FileWriter) *Batched {
	keys := make(map[string]bool, len(reads))
	for _, r := range reads {
		keys[key(r)] = true
	}
	return &Batched{Host: h, reads: reads, keys: keys, w: w, st: &batchState{answers: map[string]answer{}}}
}

// Dry returns a dry view sharing the fetched answers (nothing changes in a
// dry run, so they stay true); it is nil-safe for hosts without a dry view.
func (b *Batched) Dry() host.Host {
	dv, ok := b.Host.(interface{ Dry() host.Host })
	if !ok {
		return b
	}
	return &Batched{Host: dv.Dry(), reads: b.reads, keys: b.keys, w: b.w, st: b.st}
}

func key(argv []string) string { return strings.Join(argv, "\x00") }

// Query answers from the batch when it can.
func (b *Batched) Query(ctx context.Context, argv ...string) ([]byte, error) {
	if a, ok := b.lookup(ctx, argv); ok {
		if a.code != 0 {
			return a.out, &sshx.ExitError{Host: b.Name(), Argv: argv, Code: a.code}
		}
		return a.out, nil
	}
	return b.Host.Query(ctx, argv...)
}

// Prefetch fetches the batch now, unless it was already: a host whose
// steps run later (a replica waits for the master and the mirror) then
// finds its reads ready. A step's read waits for a fetch under way.
func (b *Batched) Prefetch(ctx context.Context) {
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	b.fetchOnce(ctx)
}

// lookup answers argv from the batch, fetching it first if need be. A
// read the batch does not hold goes to the host at once, without waiting
// for a fetch under way: who is master now is asked while every node's
// batch is in flight, and on a loaded 2-core machine a batch took longer
// than that question's whole timeout.
func (b *Batched) lookup(ctx context.Context, argv []string) (answer, bool) {
	if !b.keys[key(argv)] {
		return answer{}, false
	}
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	b.fetchOnce(ctx)
	a, ok := b.st.answers[key(argv)]
	return a, ok
}

// fetchOnce fetches unless the answers are current; b.st.mu is held.
func (b *Batched) fetchOnce(ctx context.Context) {
	if !b.st.fetched {
		b.st.fetched = true
		// A failed batch only costs speed: every read then asks the host.
		_ = b.fetch(ctx)
	}
}

// ask answers argv from the batch, or runs it on the host.
func (b *Batched) ask(ctx context.Context, argv []string) (answer, error) {
	if a, ok := b.lookup(ctx, argv); ok {
		return a, nil
	}
	out, err := b.Host.Query(ctx, argv...)
	var xe *sshx.ExitError
	if errors.As(err, &xe) {
		return answer{code: xe.Code, out: out}, nil
	}
	return answer{out: out}, err
}

func (b *Batched) fetch(ctx context.Context) error {
	if len(b.reads) == 0 {
		return nil
	}
	argv := []string{"bash", "-c", batchScript, "bash"}
	for _, r := range b.reads {
		argv = append(append(argv, strconv.Itoa(len(r))), r...)
	}
	out, err := b.Host.Query(ctx, argv...)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for i := 0; sc.Scan(); i++ {
		if i >= len(b.reads) {
			return fmt.Errorf("batch printed more answers than it was asked")
		}
		code, data, _ := strings.Cut(sc.Text(), " ")
		c, err := strconv.Atoi(code)
		if err != nil {
			return fmt.Errorf("batch answer %d: %q", i, code)
		}
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return fmt.Errorf("batch answer %d: %w", i, err)
		}
		b.st.answers[key(b.reads[i])] = answer{code: c, out: raw}
	}
	return sc.Err()
}

// changed drops every answer once the host changed; the next read fetches
// the whole batch again, in one round trip.
func (b *Batched) changed(c *host.Change, err error) (*host.Change, error) {
	if (c != nil || err != nil) && !b.DryRun() {
		b.st.mu.Lock()
		clear(b.st.answers)
		b.st.fetched = false
		b.st.mu.Unlock()
	}
	return c, err
}

// Exec runs on the inner host.
func (b *Batched) Exec(ctx context.Context, what string, argv ...string) (*host.Change, error) {
	return b.changed(b.Host.Exec(ctx, what, argv...))
}

// RestartIfChanged runs on the inner host.
func (b *Batched) RestartIfChanged(ctx context.Context, unit string, changes ...*host.Change) (*host.Change, error) {
	return b.changed(b.Host.RestartIfChanged(ctx, unit, changes...))
}

// EnsurePackages is settled by the batch when every package is installed.
func (b *Batched) EnsurePackages(ctx context.Context, names ...string) (*host.Change, error) {
	if a, ok := b.lookup(ctx, packagesArgv(names)); ok && (a.code == 0 || a.code == 1) && allInstalled(a.out, names) {
		return nil, nil
	}
	return b.changed(b.Host.EnsurePackages(ctx, names...))
}

// EnsureFile is settled by the batch when content, mode and owner match;
// otherwise it describes the change like host.Remote (diff included) and,
// with a FileWriter, writes the file in one command.
func (b *Batched) EnsureFile(ctx context.Context, f host.File) (*host.Change, error) {
	if f.Owner == "" {
		f.Owner = "root"
	}
	if f.Group == "" {
		f.Group = "root"
	}
	if b.w == nil {
		return b.changed(b.Host.EnsureFile(ctx, f))
	}
	content, err := b.ask(ctx, readArgv(f.Path))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Path, err)
	}
	stat, err := b.ask(ctx, statArgv(f.Path))
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", f.Path, err)
	}
	if content.code != 0 && content.code != 3 {
		return nil, fmt.Errorf("read %s: exit status %d", f.Path, content.code)
	}
	c := host.DescribeFile(f, content.out, content.code == 0, strings.TrimSpace(string(stat.out)))
	if c == nil || b.DryRun() {
		return c, nil
	}
	if err := b.w.WriteFile(ctx, f.Path, f.Content, f.Mode, f.Owner, f.Group); err != nil {
		return nil, err
	}
	// Only this file changed: the batch stays true once it says so.
	b.st.mu.Lock()
	b.st.answers[key(readArgv(f.Path))] = answer{out: f.Content}
	b.st.answers[key(statArgv(f.Path))] = answer{out: []byte(f.ModeString() + "\n")}
	b.st.mu.Unlock()
	return c, nil
}

// packagesArgv lists the install state of names, as host.Remote asks it.
func packagesArgv(names []string) []string {
	return append([]string{"dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", "--"}, names...)
}

func allInstalled(out []byte, names []string) bool {
	installed := map[string]bool{}
	for line := range strings.SplitSeq(string(out), "\n") {
		if pkg, status, ok := strings.Cut(line, " "); ok && status == "installed" {
			pkg, _, _ = strings.Cut(pkg, ":")
			installed[pkg] = true
		}
	}
	for _, n := range names {
		if !installed[n] {
			return false
		}
	}
	return true
}
