package geobench

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// WriteChart draws one panel per figure: per continent a box plot of the
// samples (box: quartiles; whiskers: 1.5 IQR; dots: beyond), the floor as
// a black bar and the target as a red cross (the peer, the lab's own round
// trip, has none), and writes it as PNG.
func WriteChart(w io.Writer, tables []Table) error {
	var panels [][]*plot.Plot
	for fi, fig := range Figures {
		p := plot.New()
		p.Title.Text = fig
		p.Y.Label.Text = "ms (log scale)"
		// Log scale: the floors (15 ms) and the tails (seconds under
		// overload) both stay readable.
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		var names []string
		floors, targets := make(plotter.XYs, 0, len(tables)), make(plotter.XYs, 0, len(tables))
		lo := math.Inf(1) // the lowest point drawn, for the axis' bottom
		for ci, t := range tables {
			names = append(names, t.Site.Continent)
			r := t.Rows[fi]
			x := float64(ci)
			// A log axis cannot place 0 or less; no figure should have
			// one, and a chart must not fail the run that measured it.
			pos := slices.DeleteFunc(slices.Clone(r.Samples), func(v float64) bool { return v <= 0 })
			if len(pos) > 0 {
				lo = min(lo, slices.Min(pos))
				box, err := plotter.NewBoxPlot(vg.Points(18), x, plotter.Values(pos))
				if err != nil {
					return fmt.Errorf("box plot %s %s: %w", fig, t.Site.Continent, err)
				}
				box.FillColor = color.RGBA{R: 160, G: 190, B: 230, A: 255}
				p.Add(box)
			}
			floors = append(floors, plotter.XY{X: x, Y: msOf(r.Floor)})
			lo = min(lo, msOf(r.Floor))
			if !r.Peer() {
				targets = append(targets, plotter.XY{X: x, Y: msOf(r.Target)})
			}
		}
		fl, err := plotter.NewScatter(floors)
		if err != nil {
			return err
		}
		fl.GlyphStyle = draw.GlyphStyle{Shape: draw.BoxGlyph{}, Radius: vg.Points(3), Color: color.Black}
		tg, err := plotter.NewScatter(targets)
		if err != nil {
			return err
		}
		tg.GlyphStyle = draw.GlyphStyle{Shape: draw.CrossGlyph{}, Radius: vg.Points(4), Color: color.RGBA{R: 200, A: 255}}
		p.Add(fl)
		if len(targets) > 0 { // the peer has none: an empty scatter has no range
			p.Add(tg)
		}
		if fi == 0 {
			p.Legend.Add("floor", fl)
			p.Legend.Add("target", tg)
			p.Legend.Top = true
		}
		p.NominalX(names...)
		p.Y.Min = max(lo/2, 0.1)
		panels = append(panels, []*plot.Plot{p})
	}
	const width, heightPer = 8 * vg.Inch, 3 * vg.Inch
	img := vgimg.New(width, heightPer*vg.Length(len(panels)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadX: vg.Millimeter, PadY: 3 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	canvases := plot.Align(panels, tiles, dc)
	for i := range panels {
		panels[i][0].Draw(canvases[i][0])
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	return nil
}
