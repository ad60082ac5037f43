package raid

import (
	_ "embed"
	"fmt"
	"strings"
)

// Unit file names, as installed under /etc/systemd/system.
const (
	ServiceUnitName = "counter-raid-check.service"
	TimerUnitName   = "counter-raid-check.timer"
)

// ServiceUnit runs the check once:
//
//	/usr/bin/counterctl node raid-check --policy optional \
//	  --textfile-dir /var/lib/prometheus/node-exporter --state /var/lib/counter/raid.json
//
// It is embedded read-only data; treat it as a constant.
//
//go:embed units/counter-raid-check.service
var ServiceUnit string

// TimerUnit starts ServiceUnit every 5 minutes; treat it as a constant.
//
//go:embed units/counter-raid-check.timer
var TimerUnit string

// ServiceUnitFor returns ServiceUnit with its --policy set to p, for nodes
// whose inventory demands RAID.
func ServiceUnitFor(p Policy) (string, error) {
	if _, err := ParsePolicy(string(p)); err != nil {
		return "", err
	}
	const flag = "--policy " + string(PolicyOptional)
	if strings.Count(ServiceUnit, flag) != 1 {
		return "", fmt.Errorf("service unit: want exactly one %q", flag)
	}
	return strings.Replace(ServiceUnit, flag, "--policy "+string(p), 1), nil
}
