package raid

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrUnparsable marks tool output that a parser does not understand; Check
// turns it into UNKNOWN rather than guessing.
var ErrUnparsable = errors.New("unparsable output")

// The lines of /proc/mdstat, as drivers/md/md.c prints them. procfs (the
// parser node_exporter uses) is not used here: v0.22 rejects the kernel's own
// "\tresync=DELAYED" line and reads a truncated file as a shorter one.
var (
	// "md0 : active (auto-read-only) raid1 sda1[0] sdb1[1](F)"
	mdHeader = regexp.MustCompile(`^(md[\w/-]*) : (active|inactive)( \([\w-]+\))?((?: \S+)*)$`)
	mdMember = regexp.MustCompile(`^([^\s\[\]]+)\[(\d+)\]((?:\([A-Z]\))*)$`)
	// "[2/1] [_U]" on the blocks line.
	mdCounts = regexp.MustCompile(`\[(\d+)/(\d+)\] \[([U_]+)\]`)
	// "[=>....]  recovery =  8.5% (16775552/195310144) finish=17.0min ..."
	mdProgress = regexp.MustCompile(`^\[[=>.]+\]\s+(recovery|resync|check|repair|reshape)\s*=\s*(\d+(?:\.\d+)?)%`)
	// "resync=DELAYED", "resync=PENDING" (printed after a tab)
	mdWaiting = regexp.MustCompile(`^(recovery|resync|check|repair|reshape)=(DELAYED|PENDING)$`)
)

// parseMdstat reads /proc/mdstat.
func parseMdstat(data []byte) ([]Array, error) {
	if err := wholeText("/proc/mdstat", data); err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	if !strings.HasPrefix(lines[0], "Personalities :") {
		return nil, fmt.Errorf("%w: /proc/mdstat: first line %q is not \"Personalities : ...\"", ErrUnparsable, clip(lines[0]))
	}
	var arrays []Array
	var cur *mdLines
	closed := false
	flush := func() error {
		if cur == nil {
			return nil
		}
		a, err := cur.array()
		if err != nil {
			return err
		}
		arrays = append(arrays, a)
		cur = nil
		return nil
	}
	for i, line := range lines[1:] {
		n := i + 2
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
		case closed:
			return nil, fmt.Errorf("%w: /proc/mdstat:%d: text after \"unused devices\": %q", ErrUnparsable, n, clip(line))
		case strings.HasPrefix(line, "unused devices"):
			if err := flush(); err != nil {
				return nil, err
			}
			closed = true
		case line[0] != ' ' && line[0] != '\t':
			if err := flush(); err != nil {
				return nil, err
			}
			m := mdHeader.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("%w: /proc/mdstat:%d: not an array line: %q", ErrUnparsable, n, clip(line))
			}
			cur = &mdLines{line: n, header: m}
		case cur == nil:
			return nil, fmt.Errorf("%w: /proc/mdstat:%d: indented line before any array: %q", ErrUnparsable, n, clip(line))
		default:
			cur.body = append(cur.body, numbered{n, trimmed})
		}
	}
	if !closed {
		return nil, fmt.Errorf("%w: /proc/mdstat: truncated, no closing \"unused devices\" line", ErrUnparsable)
	}
	return arrays, nil
}

type numbered struct {
	n    int
	text string
}

// mdLines are one array's header match and its indented lines.
type mdLines struct {
	line   int
	header []string
	body   []numbered
}

func (l *mdLines) array() (Array, error) {
	name, state, ro := l.header[1], l.header[2], strings.TrimSpace(l.header[3])
	a := Array{Source: "md", Name: name, State: strings.TrimSpace(state + " " + ro)}
	bad := func(n int, format string, args ...any) error {
		return fmt.Errorf("%w: /proc/mdstat:%d: %s: %s", ErrUnparsable, n, name, fmt.Sprintf(format, args...))
	}
	members, spares := 0, 0
	for i, tok := range strings.Fields(l.header[4]) {
		m := mdMember.FindStringSubmatch(tok)
		if m == nil {
			if i == 0 && !strings.ContainsAny(tok, "[]()") {
				a.Level = tok
				continue
			}
			return a, bad(l.line, "not a member device: %q", tok)
		}
		members++
		switch {
		case strings.Contains(m[3], "(F)"):
			a.FailedDisks = append(a.FailedDisks, m[1])
		case strings.Contains(m[3], "(S)"):
			spares++
		}
	}
	if len(l.body) == 0 || !strings.Contains(l.body[0].text, " blocks") {
		return a, bad(l.line, "no \"blocks\" line (truncated?)")
	}
	blocks := l.body[0]
	external := strings.Contains(blocks.text, "super external:")
	if m := mdCounts.FindStringSubmatch(blocks.text); m != nil {
		a.Devices, _ = strconv.Atoi(m[1])
		a.ActiveDevices, _ = strconv.Atoi(m[2])
		if len(m[3]) != a.Devices || strings.Count(m[3], "U") != a.ActiveDevices {
			return a, bad(blocks.n, "counts [%s/%s] do not match [%s]", m[1], m[2], m[3])
		}
	} else {
		// raid0, linear and containers print no counts.
		a.Devices, a.ActiveDevices = members, members-len(a.FailedDisks)-spares
	}
	waiting := ""
	for _, b := range l.body[1:] {
		switch {
		case strings.HasPrefix(b.text, "bitmap:"):
		case mdProgress.MatchString(b.text):
			m := mdProgress.FindStringSubmatch(b.text)
			p, _ := strconv.ParseFloat(m[2], 64)
			a.Operation, a.Progress = m[1], &p
		case mdWaiting.MatchString(b.text):
			m := mdWaiting.FindStringSubmatch(b.text)
			waiting = m[1] + " " + strings.ToLower(m[2])
		default:
			return a, bad(b.n, "unexpected line %q", clip(b.text))
		}
	}
	if a.Operation == "" && waiting != "" {
		a.Operation = waiting
	}
	a.Status = mdStatus(&a, state, external, members, spares)
	if ro != "" {
		a.Notes = append(a.Notes, "read-only until first write")
	}
	if a.Level == "raid0" || a.Level == "linear" {
		a.Notes = append(a.Notes, a.Level+" has no redundancy")
	}
	return a, nil
}

func mdStatus(a *Array, state string, external bool, members, spares int) Status {
	if state == "inactive" {
		if external && members > 0 && spares == members {
			a.Level = "container"
			a.Notes = append(a.Notes, "metadata container (its members belong to the arrays inside it)")
			return StatusContainer
		}
		return StatusInactive
	}
	op, _, _ := strings.Cut(a.Operation, " ")
	switch {
	case op == "recovery":
		return StatusRebuilding
	case a.ActiveDevices < a.Devices:
		return StatusDegraded
	case op == "resync" || op == "reshape":
		return StatusResyncing
	case op == "check" || op == "repair":
		return StatusChecking
	}
	return StatusOptimal
}

// wholeText rejects empty output and output cut off in the middle of a line:
// every tool read here ends its output with a newline.
func wholeText(what string, data []byte) error {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return fmt.Errorf("%w: %s: empty output", ErrUnparsable, what)
	case data[len(data)-1] != '\n':
		return fmt.Errorf("%w: %s: truncated, output does not end with a newline", ErrUnparsable, what)
	}
	return nil
}

// clip shortens a quoted input line in an error message.
func clip(s string) string {
	const n = 60
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
