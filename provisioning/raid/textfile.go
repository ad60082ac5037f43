package raid

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// TextfileName is the file node_exporter's textfile collector reads.
const TextfileName = "counter_raid.prom"

var (
	arrayLabels = []string{"source", "controller", "array", "level"}
	ctrlLabels  = []string{"source", "controller"}
)

// WriteTextfile writes r in the Prometheus text format that node_exporter's
// textfile collector reads.
func WriteTextfile(w io.Writer, r Report) error {
	reg := prometheus.NewPedanticRegistry()
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "counter_raid_" + name, Help: help})
		reg.MustRegister(g)
		return g
	}
	vec := func(name, help string, labels []string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "counter_raid_" + name, Help: help}, labels)
		reg.MustRegister(g)
		return g
	}
	gauge("severity", "Worst RAID finding: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.").Set(float64(r.Severity))
	gauge("problems", "Number of RAID problems found.").Set(float64(len(r.Problems)))
	gauge("last_check_timestamp_seconds", "When the RAID check ran.").Set(float64(r.CheckedAt.UnixNano()) / 1e9)

	arraySev := vec("array_severity", "Array state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", arrayLabels)
	degraded := vec("array_degraded", "1 if the array lost redundancy (degraded, failed or inactive).", arrayLabels)
	rebuilding := vec("array_rebuilding", "1 while the array rebuilds, resyncs or reshapes.", arrayLabels)
	failed := vec("array_failed_disks", "Member disks marked failed.", arrayLabels)
	progress := vec("array_sync_progress_ratio", "Progress of the running rebuild, resync or check (0-1).", arrayLabels)
	writeBack := vec("array_write_back", "1 if the volume's write cache is write-back, 0 if write-through.", arrayLabels)
	for _, a := range r.Arrays {
		if a.Status == StatusContainer {
			continue
		}
		l := prometheus.Labels{"source": a.Source, "controller": a.Controller, "array": a.Name, "level": a.Level}
		arraySev.With(l).Set(float64(a.Severity))
		degraded.With(l).Set(boolGauge(a.Status == StatusDegraded || a.Status == StatusFailed || a.Status == StatusInactive))
		rebuilding.With(l).Set(boolGauge(a.Status == StatusRebuilding || a.Status == StatusResyncing))
		failed.With(l).Set(float64(len(a.FailedDisks)))
		if a.Progress != nil {
			progress.With(l).Set(*a.Progress / 100)
		}
		if a.WriteCache != "" {
			writeBack.With(l).Set(boolGauge(a.WriteCache == "write-back"))
		}
	}

	ctrlSev := vec("controller_severity", "Controller and cache backup state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", ctrlLabels)
	present := vec("bbu_present", "1 if a BBU, CacheVault or capacitor pack is present.", ctrlLabels)
	healthy := vec("bbu_optimal", "1 if the cache backup unit reports optimal.", ctrlLabels)
	learning := vec("bbu_learn_cycle_active", "1 while the battery runs a learn cycle.", ctrlLabels)
	charge := vec("bbu_charge_ratio", "Relative state of charge of the battery (0-1).", ctrlLabels)
	for _, c := range r.Controllers {
		l := prometheus.Labels{"source": c.Source, "controller": c.ID}
		ctrlSev.With(l).Set(float64(c.Severity))
		present.With(l).Set(boolGauge(c.BBU != nil))
		if c.BBU == nil {
			continue
		}
		healthy.With(l).Set(boolGauge(c.BBU.Status == BBUOptimal))
		learning.With(l).Set(boolGauge(c.BBU.LearnCycleActive))
		if c.BBU.ChargePercent != nil {
			charge.With(l).Set(*c.BBU.ChargePercent / 100)
		}
	}

	families, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("gather raid metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("encode raid metrics: %w", err)
		}
	}
	return nil
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WriteFileAtomic replaces path with data so that a reader sees either the
// old or the new file, never a part: it writes a hidden temporary file in the
// same directory (node_exporter reads only *.prom), syncs it and renames it.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is durable only once the directory entry is on disk.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
