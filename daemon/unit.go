package daemon

import _ "embed"

// UnitFile is the systemd unit that provisioning installs as
// /etc/systemd/system/counterd.service. It runs as the dedicated user counterd,
// reads /etc/counterd/counterd.yaml and, optionally, /etc/default/counterd
// (e.g. COUNTERD_REDIS_PASSWORD=...).
//
//go:embed counterd.service
var UnitFile string
