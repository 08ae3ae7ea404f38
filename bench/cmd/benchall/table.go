package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/arbor-otp/arbor/bench/internal/metrics"
)

// cell is one system's result on one metric.
type cell struct {
	ok     bool
	median float64
	spread float64 // (max-min)/2 as a fraction of the median
	runs   int
	ratio  float64 // how many times better than Arbor; 0 when not defined
	na     string
}

type table struct {
	systems []string
	cells   map[string]map[string]cell // metric -> system -> cell
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func buildTable(systems []string, res map[string]*result) table {
	t := table{systems: systems, cells: map[string]map[string]cell{}}
	for _, m := range metrics.All {
		row := map[string]cell{}
		for _, s := range systems {
			r := res[s]
			var c cell
			switch vs := r.values[m.Name]; {
			case r.failed != "":
				c.na = r.failed
			case len(vs) > 0:
				c.ok, c.runs, c.median = true, len(vs), median(vs)
				if c.median != 0 {
					c.spread = (slices.Max(vs) - slices.Min(vs)) / 2 / math.Abs(c.median)
				}
			case r.na[m.Name] != "":
				c.na = r.na[m.Name]
			default:
				c.na = "not reported"
			}
			row[s] = c
		}
		if a, ok := row["arbor"]; ok && a.ok && m.Better != metrics.Exact {
			for s, c := range row {
				if !c.ok || c.median == 0 || a.median == 0 {
					continue
				}
				if m.Better == metrics.Higher {
					c.ratio = c.median / a.median
				} else {
					c.ratio = a.median / c.median
				}
				row[s] = c
			}
		}
		t.cells[m.Name] = row
	}
	return t
}

// format renders a value in the metric's unit.
func format(m metrics.Metric, v float64) string {
	switch m.Unit {
	case "ns":
		switch {
		case v >= 1e9:
			return fmt.Sprintf("%.2f s", v/1e9)
		case v >= 1e6:
			return fmt.Sprintf("%.2f ms", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.2f µs", v/1e3)
		}
		return fmt.Sprintf("%.0f ns", v)
	case "/s":
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.2f M/s", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.1f k/s", v/1e3)
		}
		return fmt.Sprintf("%.0f /s", v)
	case "B":
		if v >= 10_000 {
			return fmt.Sprintf("%.1f KiB", v/1024)
		}
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func (c cell) render(m metrics.Metric, short bool) string {
	if !c.ok {
		if short {
			return "n/a"
		}
		return "n/a: " + c.na
	}
	s := format(m, c.median)
	if c.runs > 1 && m.Better != metrics.Exact {
		s += fmt.Sprintf(" ±%.0f%%", c.spread*100)
	}
	if c.ratio > 0 {
		s += fmt.Sprintf(" (%s)", ratioText(c.ratio))
	}
	return s
}

func ratioText(r float64) string {
	switch {
	case r >= 10:
		return fmt.Sprintf("%.0f×", r)
	case r >= 0.095:
		return fmt.Sprintf("%.2f×", r)
	}
	return fmt.Sprintf("%.3f×", r)
}

// text is the table printed on stdout.
func (t table) text() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "metric\t%s\n", strings.Join(t.systems, "\t"))
	for _, g := range metrics.Groups {
		fmt.Fprintf(w, "%s\t\n", metrics.GroupTitle[g])
		for _, m := range metrics.InGroup(g) {
			fmt.Fprintf(w, "  %s", m.Label)
			for _, s := range t.systems {
				fmt.Fprintf(w, "\t%s", t.cells[m.Name][s].render(m, true))
			}
			fmt.Fprintln(w)
		}
	}
	_ = w.Flush()
	b.WriteString("(N×) = how many times better than Arbor: >1 better, <1 worse. n/a reasons in RESULTS.md.\n")
	return b.String()
}
