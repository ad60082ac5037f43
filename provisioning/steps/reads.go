package steps

import (
	"path/filepath"
	"slices"

	"counter/provisioning/anycast"
	"counter/provisioning/dnswatch"
	"counter/provisioning/firewall"
	"counter/provisioning/raid"
	"counter/provisioning/redisconf"
	"counter/provisioning/secondary"
	"counter/provisioning/sentinel"
	"counter/provisioning/sshd"
)

// Reads lists what the steps read on a node, for NewBatched to fetch in
// one round trip. A read missing here only costs time, never correctness.
// The replication state is not here: it is a live condition, which the
// replication step asks of Redis when it gets there.
func Reads() [][]string {
	rp := redisconf.DebianPaths()
	files := []string{
		rp.TLSCertFile, rp.TLSKeyFile, rp.TLSCAFile, redisconf.ConfigPath,
		CounterdClientCert, CounterdClientKey, CounterdHTTPSCert, CounterdHTTPSKey, CounterdTLSDir + "/ca.crt", CounterdPassword, CounterdConfig,
		firewall.LivePath, firewall.ConfPath,
		sshd.DropInPath,
		"/etc/systemd/system/" + raid.ServiceUnitName,
		oldRedisDropIn, SentinelDropIn, redisconf.FailoverHook, redisconf.SentinelTune, redisconf.OwnedPath, RedisCLIPassword,
		redisconf.SentinelOwnedPath, redisconf.SentinelConfigPath, sentinel.PasswordFile,
		anycast.BirdConfPath, "/etc/systemd/system/" + anycast.ServiceUnitName,
		dnswatch.TSIGPath, dnswatch.ConfigPath, "/etc/systemd/system/" + dnswatch.ServiceUnitName,
		secondary.KeyPath, secondary.ConfPath,
	}
	dirs := []string{redisconf.TLSDir, CounterdDir, CounterdTLSDir, DataDir, raid.DefaultTextfileDir,
		filepath.Dir(SentinelDropIn), "/etc/counter", redisconf.FailoverHookDir}
	reads := [][]string{
		{"cat", "/etc/os-release"},
		packagesArgv(BasePackages), packagesArgv(append(slices.Clone(BasePackages), birdPackage)),
		packagesArgv(append(slices.Clone(BasePackages), secondary.Package)),
		packagesArgv(append(slices.Clone(BasePackages), birdPackage, secondary.Package)),
		packagesArgv([]string{birdPackage}), packagesArgv([]string{secondary.Package}),
		{"dpkg", "--print-architecture"},
		versionArgv("counter"),
		unitArgv(redisUnit), unitArgv(counterdUnit), unitArgv(sentinelUnit), unitArgv(raid.TimerUnitName),
		unitArgv(birdUnit), unitArgv(anycast.ServiceUnitName), unitArgv(dnswatch.ServiceUnitName), unitArgv(secondary.Unit),
		firewall.StatusArgv(),
		sshd.EffectiveArgv(),
	}
	for _, f := range files {
		reads = append(reads, readArgv(f), statArgv(f))
	}
	for _, d := range dirs {
		reads = append(reads, statArgv(d))
	}
	reads = append(reads, statArgv(raid.DefaultStatePath))
	return reads
}
