package raid

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"counter/provisioning/nagios"
)

// ssacli prints indented "Key: Value" blocks: a controller at column 0, then
// arrays, logical drives and physical drives beneath it.
var (
	ssaController = regexp.MustCompile(`^(.+) in Slot (\S+)`)
	ssaArray      = regexp.MustCompile(`^Array:? (\S+)$`)
	ssaLogical    = regexp.MustCompile(`^Logical Drive: (\d+)$`)
	ssaPhysical   = regexp.MustCompile(`^physicaldrive (\S+)$`)
	ssaRecovering = regexp.MustCompile(`^Recovering, (\d+(?:\.\d+)?)% complete$`)
)

type ssaBlock struct {
	kind   string // controller, logical, physical, other
	name   string
	fields map[string]string
}

// parseSsacli reads `ssacli ctrl all show config detail`.
func parseSsacli(data []byte) ([]Controller, []Array, error) {
	type ctrlBlocks struct {
		head   ssaBlock
		blocks []ssaBlock
	}
	if err := wholeText("ssacli", data); err != nil {
		return nil, nil, err
	}
	var ctrls []*ctrlBlocks
	var cur *ssaBlock
	for i, raw := range strings.Split(string(data), "\n") {
		n, line := i+1, strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		if raw[0] != ' ' {
			m := ssaController.FindStringSubmatch(line)
			if m == nil {
				return nil, nil, fmt.Errorf("%w: ssacli:%d: expected \"<model> in Slot N\", got %q", ErrUnparsable, n, clip(line))
			}
			ctrls = append(ctrls, &ctrlBlocks{head: ssaBlock{kind: "controller", name: m[2], fields: map[string]string{"model": m[1]}}})
			cur = &ctrls[len(ctrls)-1].head
			continue
		}
		if len(ctrls) == 0 {
			return nil, nil, fmt.Errorf("%w: ssacli:%d: indented line before any controller", ErrUnparsable, n)
		}
		c := ctrls[len(ctrls)-1]
		open := func(kind, name string) {
			c.blocks = append(c.blocks, ssaBlock{kind: kind, name: name, fields: map[string]string{}})
			cur = &c.blocks[len(c.blocks)-1]
		}
		switch {
		case ssaLogical.MatchString(line):
			open("logical", ssaLogical.FindStringSubmatch(line)[1])
		case ssaPhysical.MatchString(line):
			open("physical", ssaPhysical.FindStringSubmatch(line)[1])
		case ssaArray.MatchString(line), line == "unassigned", line == "HBA Drives", line == "Physical Drives",
			strings.HasPrefix(line, "SEP "), strings.HasPrefix(line, "Expander "), strings.HasPrefix(line, "Enclosure "),
			strings.HasPrefix(line, "Internal Drive Cage at "), strings.HasPrefix(line, "External Drive Cage at "):
			open("other", line)
		case strings.HasPrefix(line, "physicaldrive ") || strings.HasPrefix(line, "Mirror Group "):
			// Members listed under a logical drive; their own blocks follow.
		default:
			key, value, ok := strings.Cut(line, ":")
			if !ok {
				return nil, nil, fmt.Errorf("%w: ssacli:%d: expected \"Key: Value\", got %q", ErrUnparsable, n, clip(line))
			}
			cur.fields[strings.TrimSpace(key)] = strings.TrimSpace(value)
		}
	}
	if len(ctrls) == 0 {
		return nil, nil, fmt.Errorf("%w: ssacli: no controller found in output", ErrUnparsable)
	}
	var out []Controller
	var arrays []Array
	for _, c := range ctrls {
		ctrl, err := ssaControllerFrom(c.head)
		if err != nil {
			return nil, nil, err
		}
		failed := map[string]bool{}
		var failedNames, rebuilding []string
		for _, b := range c.blocks {
			if b.kind != "physical" {
				continue
			}
			st, ok := b.fields["Status"]
			if !ok {
				return nil, nil, fmt.Errorf("%w: ssacli: slot %s drive %s has no Status (truncated?)", ErrUnparsable, ctrl.ID, b.name)
			}
			switch {
			case st == "OK":
			case st == "Rebuilding":
				rebuilding = append(rebuilding, b.name)
			case strings.HasPrefix(st, "Failed"):
				failed[b.name] = true
				failedNames = append(failedNames, b.name)
			case st == "Predictive Failure":
				ctrl.findings = append(ctrl.findings, problem{nagios.Warning, "ssacli " + ctrl.ID + ": drive " + b.name + " predicts its own failure"})
			default:
				ctrl.findings = append(ctrl.findings, problem{nagios.Unknown, fmt.Sprintf("ssacli %s: drive %s in unknown state %q", ctrl.ID, b.name, st)})
			}
		}
		for _, b := range c.blocks {
			if b.kind != "logical" {
				continue
			}
			a, err := ssaLogicalDrive(ctrl, b)
			if err != nil {
				return nil, nil, err
			}
			// ssacli does not tie the detail blocks of drives to a logical
			// drive, so a failed drive is charged to every broken one.
			if a.Status != StatusOptimal {
				a.FailedDisks = failedNames
				if a.Status == StatusRebuilding && len(rebuilding) > 0 {
					a.Notes = append(a.Notes, "rebuilding onto "+strings.Join(rebuilding, ", "))
				}
			}
			arrays = append(arrays, a)
		}
		if len(failed) > 0 && !anyBroken(arrays, ctrl.ID) {
			ctrl.findings = append(ctrl.findings, problem{nagios.Critical, "ssacli " + ctrl.ID + ": failed drives outside any logical drive: " + strings.Join(failedNames, ", ")})
		}
		out = append(out, ctrl)
	}
	return out, arrays, nil
}

func ssaControllerFrom(b ssaBlock) (Controller, error) {
	id := "slot=" + b.name
	st, ok := b.fields["Controller Status"]
	if !ok {
		return Controller{}, fmt.Errorf("%w: ssacli: controller in slot %s has no \"Controller Status\" (truncated?)", ErrUnparsable, b.name)
	}
	c := Controller{Source: "ssacli", ID: id, Model: b.fields["model"], State: st, Cache: b.fields["Cache Status"]}
	if d := b.fields["Cache Status Details"]; d != "" {
		c.Notes = append(c.Notes, d)
	}
	status, present := b.fields["Battery/Capacitor Status"]
	if count := b.fields["Battery/Capacitor Count"]; count == "0" {
		present = false
	}
	if !present {
		return c, nil
	}
	kind := "battery"
	if strings.HasPrefix(b.fields["Cache Backup Power Source"], "Capacitor") {
		kind = "capacitor"
	}
	u := &BBU{Kind: kind, State: status}
	switch {
	case status == "OK":
		u.Status = BBUOptimal
	case status == "Recharging" || status == "Charging":
		u.Status = BBUCharging
	case strings.HasPrefix(status, "Failed"):
		u.Status, u.ReplacementRequired = BBUFailed, strings.Contains(status, "Replace")
	}
	c.BBU = u
	return c, nil
}

func ssaLogicalDrive(ctrl Controller, b ssaBlock) (Array, error) {
	st, ok := b.fields["Status"]
	if !ok {
		return Array{}, fmt.Errorf("%w: ssacli: %s logical drive %s has no Status (truncated?)", ErrUnparsable, ctrl.ID, b.name)
	}
	a := Array{Source: "ssacli", Controller: ctrl.ID, Name: ctrl.ID + "/ld" + b.name, State: st}
	if ft := b.fields["Fault Tolerance"]; ft != "" {
		a.Level = "raid" + strings.ReplaceAll(ft, "+", "")
	}
	switch {
	case st == "OK":
		a.Status = StatusOptimal
	case st == "Interim Recovery Mode", st == "Ready for Rebuild":
		a.Status = StatusDegraded
	case strings.HasPrefix(st, "Recovering"):
		a.Status, a.Operation = StatusRebuilding, "rebuild"
		if m := ssaRecovering.FindStringSubmatch(st); m != nil {
			p, _ := strconv.ParseFloat(m[1], 64)
			a.Progress = &p
		}
	case st == "Failed":
		a.Status = StatusFailed
	}
	// Caching means the controller's write cache serves this drive; it is
	// write-back only while the cache itself is OK.
	switch caching := b.fields["Caching"]; {
	case caching == "Enabled" && ctrl.Cache == "OK":
		a.WriteCache = "write-back"
	case caching != "":
		a.WriteCache = "write-through"
	}
	return a, nil
}

func anyBroken(arrays []Array, ctrlID string) bool {
	for _, a := range arrays {
		if a.Controller == ctrlID && a.Status != StatusOptimal {
			return true
		}
	}
	return false
}
