package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/arbor-otp/arbor/bench/internal/metrics"
)

// writeCharts draws, per workload group, one bar per (metric, system) with
// the height log10 of the factor by which the system beats Arbor: up is
// better than Arbor, down is worse. It returns group -> relative PNG path.
func writeCharts(t table, quick bool) (map[string]string, error) {
	dir := "charts"
	if quick {
		dir = filepath.Join("charts", "quick")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, g := range metrics.Groups {
		var ms []metrics.Metric
		for _, m := range metrics.InGroup(g) {
			if m.Better != metrics.Exact {
				ms = append(ms, m)
			}
		}
		p := plot.New()
		p.Title.Text = metrics.GroupTitle[g] + ": factor vs Arbor (up = better than Arbor)"
		p.Y.Label.Text = "times better than Arbor (log scale)"
		lo, hi := 0.0, 0.0
		var bars []*plotter.BarChart
		var shown []string
		for _, s := range t.systems {
			if s == "arbor" {
				continue
			}
			vals := make(plotter.Values, len(ms))
			any := false
			for i, m := range ms {
				if c := t.cells[m.Name][s]; c.ratio > 0 {
					vals[i] = math.Log10(c.ratio)
					any = true
					lo, hi = math.Min(lo, vals[i]), math.Max(hi, vals[i])
				}
			}
			if !any {
				continue
			}
			bc, err := plotter.NewBarChart(vals, vg.Points(9))
			if err != nil {
				return out, err
			}
			bc.LineStyle.Width = 0
			bc.Color = plotutil.Color(len(shown))
			bars = append(bars, bc)
			shown = append(shown, s)
		}
		if len(bars) == 0 {
			continue
		}
		for i, bc := range bars {
			bc.Offset = vg.Points(9) * vg.Length(float64(i)-float64(len(bars)-1)/2)
			p.Add(bc)
			p.Legend.Add(shown[i], bc)
		}
		p.Add(plotter.NewGrid())
		zero := plotter.NewFunction(func(float64) float64 { return 0 })
		zero.Color = color.Black
		zero.Width = vg.Points(1)
		p.Add(zero)
		p.Legend.Top = true
		p.Legend.Left = true
		labels := make([]string, len(ms))
		for i, m := range ms {
			labels[i] = m.Name
		}
		p.NominalX(labels...)
		p.X.Tick.Label.Rotation = math.Pi / 8
		p.X.Tick.Label.XAlign = -0.8
		p.Y.Min = math.Floor(lo*2)/2 - 0.25
		p.Y.Max = math.Ceil(hi*2)/2 + 0.25
		p.Y.Tick.Marker = ratioTicks{}
		w := vg.Length(len(ms))*vg.Points(float64(len(bars))*9+40) + vg.Points(120)
		if w < 6*vg.Inch {
			w = 6 * vg.Inch
		}
		file := filepath.Join(dir, g+".png")
		if err := p.Save(w, 4*vg.Inch, file); err != nil {
			return out, fmt.Errorf("save %s: %w", file, err)
		}
		out[g] = filepath.ToSlash(file)
	}
	return out, nil
}

// ratioTicks labels a log10 axis with the factors themselves.
type ratioTicks struct{}

func (ratioTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(min) - 1; e <= math.Ceil(max)+1; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := e + math.Log10(m)
			if v < min || v > max {
				continue
			}
			f := math.Pow(10, v)
			label := fmt.Sprintf("%g×", float32(f))
			ts = append(ts, plot.Tick{Value: v, Label: label})
		}
	}
	return ts
}
