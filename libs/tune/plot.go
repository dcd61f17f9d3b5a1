package tune

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Plot writes a PNG of metric against training_iteration, one line per
// trial, read from each trial's result.json.
func (g *ResultGrid) Plot(path, metric string) error {
	if metric == "" {
		metric = g.Metric
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s per iteration (%d trials)", metric, len(g.Results))
	p.X.Label.Text = KeyTrainingIteration
	p.Y.Label.Text = metric
	p.Add(plotter.NewGrid())
	n := 0
	for i, r := range g.Results {
		h, err := r.History()
		if err != nil {
			continue
		}
		var pts plotter.XYs
		for _, x := range h {
			v, ok := x.Float(metric)
			if !ok {
				continue
			}
			pts = append(pts, plotter.XY{X: float64(x.Iteration()), Y: v})
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			continue
		}
		l.Color = palette(i)
		l.Width = vg.Points(1)
		p.Add(l)
		if len(g.Results) <= 12 {
			p.Legend.Add(r.TrialID, l)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("tune: no trial reported %q; nothing to plot", metric)
	}
	p.Legend.Top = true
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("tune: save plot %s: %w", path, err)
	}
	return nil
}

func palette(i int) color.Color {
	cs := []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
		{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
		{188, 189, 34, 255}, {23, 190, 207, 255}}
	return cs[i%len(cs)]
}
