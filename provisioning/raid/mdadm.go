package raid

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// mdadmDetail is what Check takes from `mdadm --detail /dev/mdX`.
type mdadmDetail struct {
	Device        string
	Level         string
	State         string
	RaidDevices   int
	TotalDevices  int
	FailedDevices int
	// Progress is the "Rebuild/Resync/Check/Reshape Status : N% complete" line.
	Operation string
	Progress  *float64
	Faulty    []string // member devices in state "faulty"
	Removed   int      // slots shown as "removed"
}

var (
	mdadmProgress = regexp.MustCompile(`^(\d+(?:\.\d+)?)% complete$`)
	// A member row: Number Major Minor RaidDevice State... [/dev/path].
	mdadmMember = regexp.MustCompile(`^(\d+|-)\s+(\d+)\s+(\d+)\s+(\d+|-)\s+(.*?)(?:\s+(/dev/\S+))?$`)
)

// parseMdadmDetail reads `mdadm --detail` output for one array.
func parseMdadmDetail(data []byte) (mdadmDetail, error) {
	var d mdadmDetail
	if err := wholeText("mdadm --detail", data); err != nil {
		return d, err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	first := strings.TrimSpace(lines[0])
	if !strings.HasPrefix(first, "/dev/") || !strings.HasSuffix(first, ":") {
		return d, fmt.Errorf("%w: mdadm --detail: first line %q is not \"/dev/mdX:\"", ErrUnparsable, clip(first))
	}
	d.Device = strings.TrimSuffix(first, ":")
	table, slots, paths := false, 0, 0
	seen := map[string]bool{}
	for i, raw := range lines[1:] {
		n, line := i+2, strings.TrimSpace(raw)
		switch {
		case line == "":
		case table:
			m := mdadmMember.FindStringSubmatch(line)
			if m == nil {
				return d, fmt.Errorf("%w: mdadm --detail:%d: not a member row: %q", ErrUnparsable, n, clip(line))
			}
			if m[4] != "-" {
				slots++
			}
			if m[6] != "" {
				paths++
			}
			switch state := m[5]; {
			case strings.Contains(state, "faulty"):
				d.Faulty = append(d.Faulty, filepath.Base(m[6]))
			case state == "removed":
				d.Removed++
			}
		case strings.HasPrefix(line, "Number") && strings.Contains(line, "RaidDevice"):
			table = true
		default:
			key, value, ok := strings.Cut(line, " : ")
			if !ok {
				return d, fmt.Errorf("%w: mdadm --detail:%d: expected \"Key : Value\", got %q", ErrUnparsable, n, clip(line))
			}
			key, value = strings.TrimSpace(key), strings.TrimSpace(value)
			seen[key] = true
			if err := d.set(key, value); err != nil {
				return d, fmt.Errorf("%w: mdadm --detail:%d: %w", ErrUnparsable, n, err)
			}
		}
	}
	for _, k := range []string{"Raid Level", "State"} {
		if !seen[k] {
			return d, fmt.Errorf("%w: mdadm --detail %s: no %q line", ErrUnparsable, d.Device, k)
		}
	}
	// The member table closes the output; without it the text was cut short.
	if seen["Raid Devices"] && !table {
		return d, fmt.Errorf("%w: mdadm --detail %s: truncated, no member table", ErrUnparsable, d.Device)
	}
	// Counting rows catches a table cut short at a line boundary.
	if table && slots != d.RaidDevices {
		return d, fmt.Errorf("%w: mdadm --detail %s: member table lists %d of %d raid devices", ErrUnparsable, d.Device, slots, d.RaidDevices)
	}
	if seen["Total Devices"] && paths != d.TotalDevices {
		return d, fmt.Errorf("%w: mdadm --detail %s: member table lists %d of %d devices", ErrUnparsable, d.Device, paths, d.TotalDevices)
	}
	return d, nil
}

func (d *mdadmDetail) set(key, value string) error {
	switch key {
	case "Raid Level":
		d.Level = value
	case "State":
		d.State = value
	case "Raid Devices", "Total Devices", "Failed Devices":
		v, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("%s %q is not a number", key, value)
		}
		switch key {
		case "Raid Devices":
			d.RaidDevices = v
		case "Total Devices":
			d.TotalDevices = v
		default:
			d.FailedDevices = v
		}
	case "Rebuild Status", "Resync Status", "Check Status", "Reshape Status":
		m := mdadmProgress.FindStringSubmatch(value)
		if m == nil {
			return fmt.Errorf("%s %q is not \"N%% complete\"", key, value)
		}
		p, _ := strconv.ParseFloat(m[1], 64)
		d.Operation = strings.ToLower(strings.TrimSuffix(key, " Status"))
		d.Progress = &p
	}
	return nil
}

// mergeMdadm folds what --detail knows into the array read from /proc/mdstat.
func mergeMdadm(a *Array, d mdadmDetail) error {
	if want := "/dev/" + a.Name; d.Device != want {
		return fmt.Errorf("mdadm --detail %s described %s", want, d.Device)
	}
	a.Notes = append(a.Notes, "mdadm: state "+d.State)
	for _, f := range d.Faulty {
		if !slices.Contains(a.FailedDisks, f) {
			a.FailedDisks = append(a.FailedDisks, f)
		}
	}
	state := strings.ToLower(d.State)
	switch {
	case strings.Contains(state, "failed") || strings.Contains(state, "not started"):
		a.Status = StatusFailed
	case strings.Contains(state, "degraded") && a.Status == StatusOptimal:
		a.Status = StatusDegraded
	}
	if a.Progress == nil && d.Progress != nil {
		a.Progress = d.Progress
		if a.Operation == "" {
			a.Operation = d.Operation
		}
	}
	return nil
}
