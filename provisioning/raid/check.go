package raid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"time"

	"counter/provisioning/nagios"
)

// MdstatPath is where the kernel lists md arrays.
const MdstatPath = "/proc/mdstat"

// toolTimeout bounds one vendor command; storcli can take tens of seconds on
// a controller with many enclosures.
const toolTimeout = 90 * time.Second

// The command lines Check runs, one per tool; tests key recorded outputs on them.
var (
	storcliArgs  = []string{"/call", "show", "all", "J"}
	ssacliArgs   = []string{"ctrl", "all", "show", "config", "detail"}
	megaLDArgs   = []string{"-LDInfo", "-Lall", "-aALL", "-NoLog"}
	megaBBUArgs  = []string{"-AdpBbuCmd", "-GetBbuStatus", "-aALL", "-NoLog"}
	storcliNames = []string{"storcli64", "storcli", "perccli64", "perccli"}
	ssacliNames  = []string{"ssacli", "hpssacli"}
	megacliNames = []string{"MegaCli64", "megacli", "MegaCli"}
)

// Check inspects the node through src and grades it under policy. It never
// fails: what it cannot read becomes an UNKNOWN problem in the report.
func Check(ctx context.Context, src Source, policy Policy) Report {
	return check(ctx, src, policy, time.Now())
}

func check(ctx context.Context, src Source, policy Policy, now time.Time) Report {
	r := Report{Policy: policy, CheckedAt: now.UTC(), Arrays: []Array{}, Controllers: []Controller{}, Problems: []string{}}
	if policy == PolicyNone {
		r.Summary = "RAID check disabled by policy"
		return r
	}
	c := &checker{src: src, r: &r}
	steps := []func(context.Context){c.md, c.lsi, c.hpe}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			c.unknown("check interrupted: %v", err)
			break
		}
		step(ctx)
	}
	grade(&r)
	return r
}

type checker struct {
	src Source
	r   *Report
}

// unknown records something Check could not read.
func (c *checker) unknown(format string, args ...any) {
	c.r.problems = append(c.r.problems, problem{nagios.Unknown, fmt.Sprintf(format, args...)})
}

func (c *checker) find(names []string) (string, bool) {
	for _, n := range names {
		if p, err := c.src.LookPath(n); err == nil {
			return p, true
		}
	}
	return "", false
}

func (c *checker) md(ctx context.Context) {
	data, err := c.src.ReadFile(MdstatPath)
	if errors.Is(err, fs.ErrNotExist) {
		return // kernel without md: no software RAID to look at
	}
	if err != nil {
		c.unknown("read %s: %v", MdstatPath, err)
		return
	}
	arrays, err := parseMdstat(data)
	if err != nil {
		c.unknown("%v", err)
		return
	}
	mdadm, haveMdadm := c.find([]string{"mdadm"})
	for i := range arrays {
		a := &arrays[i]
		if !haveMdadm || a.Status == StatusContainer || a.Status == StatusInactive {
			continue
		}
		out, err := c.src.Run(ctx, toolTimeout, mdadm, "--detail", "/dev/"+a.Name)
		if err != nil {
			c.unknown("mdadm --detail /dev/%s: %v", a.Name, err)
			continue
		}
		d, err := parseMdadmDetail(out)
		if err == nil {
			err = mergeMdadm(a, d)
		}
		if err != nil {
			c.unknown("%v", err)
		}
	}
	c.r.Arrays = append(c.r.Arrays, arrays...)
}

// lsi asks storcli or, only when storcli is absent, its predecessor MegaCli:
// both see the same Broadcom/LSI controllers, which must not count twice.
func (c *checker) lsi(ctx context.Context) {
	if path, ok := c.find(storcliNames); ok {
		c.storcli(ctx, path)
	} else if path, ok := c.find(megacliNames); ok {
		c.megacli(ctx, path)
	}
}

// hpe asks ssacli (or its older name hpssacli) about HPE Smart Array.
func (c *checker) hpe(ctx context.Context) {
	if path, ok := c.find(ssacliNames); ok {
		c.ssacli(ctx, path)
	}
}

func (c *checker) storcli(ctx context.Context, path string) {
	out, err := c.src.Run(ctx, toolTimeout, path, storcliArgs...)
	if err != nil && !bytes.Contains(out, []byte("No Controller found")) {
		c.unknown("%v", err)
		return
	}
	ctrls, arrays, err := parseStorcli(out)
	if err != nil {
		c.unknown("%v", err)
		return
	}
	c.r.Controllers = append(c.r.Controllers, ctrls...)
	c.r.Arrays = append(c.r.Arrays, arrays...)
}

func (c *checker) ssacli(ctx context.Context, path string) {
	out, err := c.src.Run(ctx, toolTimeout, path, ssacliArgs...)
	if bytes.Contains(out, []byte("No controllers detected")) {
		return // installed on a node without Smart Array
	}
	if err != nil {
		c.unknown("%v", err)
		return
	}
	ctrls, arrays, err := parseSsacli(out)
	if err != nil {
		c.unknown("%v", err)
		return
	}
	c.r.Controllers = append(c.r.Controllers, ctrls...)
	c.r.Arrays = append(c.r.Arrays, arrays...)
}

func (c *checker) megacli(ctx context.Context, path string) {
	out, err := c.src.Run(ctx, toolTimeout, path, megaLDArgs...)
	if err != nil {
		c.unknown("%v", err)
		return
	}
	arrays, err := parseMegaLDInfo(out)
	if err != nil {
		c.unknown("%v", err)
		return
	}
	bbus := map[string]*BBU{}
	out, err = c.src.Run(ctx, toolTimeout, path, megaBBUArgs...)
	switch {
	case megaNoBBU(out):
	case err != nil:
		c.unknown("%v", err)
	default:
		if bbus, err = parseMegaBBU(out); err != nil {
			c.unknown("%v", err)
		}
	}
	ids := map[string]bool{}
	for _, a := range arrays {
		ids[a.Controller] = true
	}
	for id := range bbus {
		ids[id] = true
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		c.r.Controllers = append(c.r.Controllers, Controller{Source: "megacli", ID: id, BBU: bbus[id]})
	}
	c.r.Arrays = append(c.r.Arrays, arrays...)
}
