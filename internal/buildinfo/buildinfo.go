// Package buildinfo holds the version both programs report.
package buildinfo

import "runtime/debug"

// Version is set at link time: -ldflags "-X counter/internal/buildinfo.Version=v1.2.3".
var Version = ""

// String returns the link-time version, else the VCS revision Go recorded, else "dev".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}
