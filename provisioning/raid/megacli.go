package raid

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	megaLDAdapter  = regexp.MustCompile(`^Adapter (\d+) -- Virtual Drive Information:$`)
	megaLD         = regexp.MustCompile(`^Virtual Drive: (\d+) \(Target Id: \d+\)$`)
	megaBBUAdapter = regexp.MustCompile(`^BBU status for Adapter: (\d+)$`)
	megaLevel      = regexp.MustCompile(`^Primary-(\d+), Secondary-(\d+), RAID Level Qualifier-\d+$`)
	megaPercent    = regexp.MustCompile(`^(\d+(?:\.\d+)?) ?%$`)
)

// megaSections splits MegaCli output into "Key: Value" maps, one per header
// line that header matches, and insists on the closing "Exit Code: 0x00":
// MegaCli always prints it last, so without it the output was cut short.
func megaSections(what string, data []byte, header ...*regexp.Regexp) ([][]string, []map[string]string, error) {
	if err := wholeText(what, data); err != nil {
		return nil, nil, err
	}
	var heads [][]string
	var maps []map[string]string
	exit := ""
	for i, raw := range strings.Split(string(data), "\n") {
		n, line := i+1, strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		if exit != "" {
			return nil, nil, fmt.Errorf("%w: %s:%d: text after the exit code: %q", ErrUnparsable, what, n, clip(line))
		}
		if v, ok := strings.CutPrefix(line, "Exit Code:"); ok {
			exit = strings.TrimSpace(v)
			continue
		}
		matched := false
		for _, h := range header {
			if m := h.FindStringSubmatch(line); m != nil {
				heads = append(heads, m)
				maps = append(maps, map[string]string{})
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			// Headings such as "BBU Firmware Status:" end in a colon; a line
			// without any is not MegaCli's.
			return nil, nil, fmt.Errorf("%w: %s:%d: expected \"Key: Value\", got %q", ErrUnparsable, what, n, clip(line))
		}
		if len(maps) == 0 {
			return nil, nil, fmt.Errorf("%w: %s:%d: %q before any section header", ErrUnparsable, what, n, clip(line))
		}
		maps[len(maps)-1][strings.ToLower(strings.TrimSpace(key))] = strings.TrimSpace(value)
	}
	switch exit {
	case "":
		return nil, nil, fmt.Errorf("%w: %s: truncated, no \"Exit Code\" line", ErrUnparsable, what)
	case "0x00":
	default:
		return nil, nil, fmt.Errorf("%s: MegaCli exit code %s", what, exit)
	}
	return heads, maps, nil
}

// parseMegaLDInfo reads `MegaCli -LDInfo -Lall -aALL -NoLog`.
func parseMegaLDInfo(data []byte) ([]Array, error) {
	heads, maps, err := megaSections("MegaCli -LDInfo", data, megaLDAdapter, megaLD)
	if err != nil {
		return nil, err
	}
	var arrays []Array
	adapter := ""
	for i, h := range heads {
		if megaLDAdapter.MatchString(h[0]) {
			adapter = "a" + h[1]
			continue
		}
		if adapter == "" {
			return nil, fmt.Errorf("%w: MegaCli -LDInfo: virtual drive %s before any adapter header", ErrUnparsable, h[1])
		}
		f := maps[i]
		state, ok := f["state"]
		if !ok {
			return nil, fmt.Errorf("%w: MegaCli -LDInfo: %s virtual drive %s has no State", ErrUnparsable, adapter, h[1])
		}
		a := Array{Source: "megacli", Controller: adapter, Name: adapter + "/v" + h[1], State: state,
			Level:      megaRAIDLevel(f["raid level"], f["span depth"]),
			WriteCache: megaWriteCache(f["current cache policy"]), DefaultWriteCache: megaWriteCache(f["default cache policy"])}
		switch state {
		case "Optimal":
			a.Status = StatusOptimal
		case "Degraded", "Partially Degraded":
			a.Status = StatusDegraded
		case "Offline", "Failed":
			a.Status = StatusFailed
		}
		arrays = append(arrays, a)
	}
	return arrays, nil
}

// megaRAIDLevel maps "Primary-1, Secondary-0, RAID Level Qualifier-0" and the
// span depth to a level: MegaCli shows RAID 10 as spanned RAID 1.
func megaRAIDLevel(level, spans string) string {
	m := megaLevel.FindStringSubmatch(level)
	if m == nil {
		return level
	}
	depth, _ := strconv.Atoi(spans)
	if depth > 1 || m[2] == "3" {
		return "raid" + m[1] + "0"
	}
	return "raid" + m[1]
}

func megaWriteCache(policy string) string {
	first, _, _ := strings.Cut(policy, ",")
	switch strings.TrimSpace(first) {
	case "WriteBack":
		return "write-back"
	case "WriteThrough":
		return "write-through"
	}
	return ""
}

// parseMegaBBU reads `MegaCli -AdpBbuCmd -GetBbuStatus -aALL -NoLog`.
func parseMegaBBU(data []byte) (map[string]*BBU, error) {
	heads, maps, err := megaSections("MegaCli -AdpBbuCmd", data, megaBBUAdapter)
	if err != nil {
		return nil, err
	}
	out := map[string]*BBU{}
	for i, h := range heads {
		f := maps[i]
		if _, ok := f["batterytype"]; !ok {
			return nil, fmt.Errorf("%w: MegaCli -AdpBbuCmd: adapter %s has no BatteryType", ErrUnparsable, h[1])
		}
		u := &BBU{Kind: "battery", Model: f["batterytype"], State: f["battery state"]}
		if strings.HasPrefix(u.Model, "CVPM") {
			u.Kind = "cachevault"
		}
		yes := func(k string) bool { return strings.EqualFold(f[k], "Yes") }
		u.LearnCycleActive = yes("learn cycle active")
		u.ReplacementRequired = yes("battery replacement required") || yes("pack is about to fail & should be replaced")
		if m := megaPercent.FindStringSubmatch(f["relative state of charge"]); m != nil {
			p, _ := strconv.ParseFloat(m[1], 64)
			u.ChargePercent = &p
		}
		switch {
		case yes("battery pack missing"), u.ReplacementRequired:
			u.Status = BBUFailed
		// During a learn cycle MegaCli calls the pack "Non Operational".
		case u.LearnCycleActive:
			u.Status = BBULearning
		case u.State == "Optimal", u.State == "" && f["learn cycle status"] == "OK" && !yes("remaining capacity low"):
			u.Status = BBUOptimal
		case u.State != "" && u.State != "Optimal":
			u.Status = BBUFailed
		}
		out["a"+h[1]] = u
	}
	return out, nil
}

// megaNoBBU is MegaCli's answer when an adapter has no battery at all.
func megaNoBBU(out []byte) bool {
	return strings.Contains(string(out), "hardware component is not present")
}
