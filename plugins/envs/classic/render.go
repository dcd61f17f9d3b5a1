package classic

import (
	"math"

	"github.com/goray/goray/plugins/envs"
)

// A small software rasteriser for the classic-control rgb_array frames.
// The frames follow Gymnasium's geometry (sizes, scales, colours) but are
// not pixel-identical to pygame's anti-aliased output; they are meant for
// looking at, not for comparing.

type canvas struct {
	w, h int
	pix  []byte
}

func newCanvas(w, h int) *canvas {
	c := &canvas{w: w, h: h, pix: make([]byte, w*h*3)}
	for i := range c.pix {
		c.pix[i] = 255
	}
	return c
}

// set colours pixel (x, y) with y measured upwards from the bottom, as in
// Gymnasium's drawing code before its final vertical flip.
func (c *canvas) set(x, y int, col [3]byte) {
	if x < 0 || y < 0 || x >= c.w || y >= c.h {
		return
	}
	i := ((c.h-1-y)*c.w + x) * 3
	c.pix[i], c.pix[i+1], c.pix[i+2] = col[0], col[1], col[2]
}

// polygon fills a polygon given by its vertices (even–odd rule).
func (c *canvas) polygon(pts [][2]float64, col [3]byte) {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
		minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
	}
	for y := int(math.Floor(minY)); y <= int(math.Ceil(maxY)); y++ {
		for x := int(math.Floor(minX)); x <= int(math.Ceil(maxX)); x++ {
			if inside(pts, float64(x)+0.5, float64(y)+0.5) {
				c.set(x, y, col)
			}
		}
	}
}

func inside(pts [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
		xi, yi, xj, yj := pts[i][0], pts[i][1], pts[j][0], pts[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

func (c *canvas) circle(cx, cy, r float64, col [3]byte) {
	for y := int(cy - r - 1); y <= int(cy+r+1); y++ {
		for x := int(cx - r - 1); x <= int(cx+r+1); x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			if dx*dx+dy*dy <= r*r {
				c.set(x, y, col)
			}
		}
	}
}

// line draws a segment of the given width.
func (c *canvas) line(x0, y0, x1, y1, width float64, col [3]byte) {
	dx, dy := x1-x0, y1-y0
	n := math.Hypot(dx, dy)
	if n == 0 {
		c.circle(x0, y0, width/2, col)
		return
	}
	px, py := -dy/n*width/2, dx/n*width/2
	c.polygon([][2]float64{{x0 + px, y0 + py}, {x1 + px, y1 + py}, {x1 - px, y1 - py}, {x0 - px, y0 - py}}, col)
}

func (c *canvas) render() envs.Render {
	return envs.Render{Width: c.w, Height: c.h, RGB: c.pix}
}

func rotate(p [2]float64, a float64) [2]float64 {
	s, co := math.Sin(a), math.Cos(a)
	return [2]float64{p[0]*co - p[1]*s, p[0]*s + p[1]*co}
}

func renderCartPole(x, theta float64) envs.Render {
	const w, h = 600, 400
	c := newCanvas(w, h)
	scale := w / (2.4 * 2)
	poleWidth, poleLen := 10.0, scale*(2*0.5)
	cartW, cartH := 50.0, 30.0
	cartX, cartY := x*scale+w/2.0, 100.0
	axle := cartH / 4
	c.polygon([][2]float64{{cartX - cartW/2, cartY - cartH/2}, {cartX - cartW/2, cartY + cartH/2}, {cartX + cartW/2, cartY + cartH/2}, {cartX + cartW/2, cartY - cartH/2}}, [3]byte{0, 0, 0})
	l, r, t, b := -poleWidth/2, poleWidth/2, poleLen-poleWidth/2, -poleWidth/2
	var pole [][2]float64
	for _, p := range [][2]float64{{l, b}, {l, t}, {r, t}, {r, b}} {
		q := rotate(p, -theta)
		pole = append(pole, [2]float64{q[0] + cartX, q[1] + cartY + axle})
	}
	c.polygon(pole, [3]byte{202, 152, 101})
	c.circle(cartX, cartY+axle, poleWidth/2, [3]byte{129, 132, 203})
	c.line(0, cartY, w, cartY, 1, [3]byte{0, 0, 0})
	return c.render()
}

func renderMountainCar(pos, goal float64) envs.Render {
	const w, h = 600, 400
	c := newCanvas(w, h)
	minP, maxP := -1.2, 0.6
	scale := w / (maxP - minP)
	height := func(p float64) float64 { return math.Sin(3*p)*0.45 + 0.55 }
	prevX, prevY := 0.0, height(minP)*scale
	for i := 1; i <= 100; i++ {
		p := minP + (maxP-minP)*float64(i)/100
		x, y := (p-minP)*scale, height(p)*scale
		c.line(prevX, prevY, x, y, 2, [3]byte{0, 0, 0})
		prevX, prevY = x, y
	}
	clearance := 10.0
	ang := math.Cos(3 * pos)
	var car [][2]float64
	for _, p := range [][2]float64{{-20, 0}, {-20, 20}, {20, 20}, {20, 0}} {
		q := rotate(p, ang)
		car = append(car, [2]float64{q[0] + (pos-minP)*scale, q[1] + clearance + height(pos)*scale})
	}
	c.polygon(car, [3]byte{0, 0, 0})
	fx, fy := (goal-minP)*scale, height(goal)*scale
	c.line(fx, fy, fx, fy+50, 1, [3]byte{0, 0, 0})
	c.polygon([][2]float64{{fx, fy + 50}, {fx, fy + 40}, {fx + 25, fy + 45}}, [3]byte{204, 204, 0})
	return c.render()
}

func renderPendulum(th float64) envs.Render {
	const size = 500
	c := newCanvas(size, size)
	scale := size / 2.2
	off := size / 2.0
	rodLen, rodW := 1*scale, 0.2*scale
	end := rotate([2]float64{rodLen, 0}, th+math.Pi/2)
	c.line(off, off, off+end[0], off+end[1], rodW, [3]byte{204, 77, 77})
	c.circle(off, off, rodW/2, [3]byte{204, 77, 77})
	c.circle(off+end[0], off+end[1], rodW/2, [3]byte{204, 77, 77})
	c.circle(off, off, 0.05*scale, [3]byte{0, 0, 0})
	return c.render()
}

func renderAcrobot(t1, t2 float64) envs.Render {
	const size = 500
	c := newCanvas(size, size)
	bound := 2.2
	scale := size / (bound * 2)
	off := size / 2.0
	p1 := [2]float64{-math.Cos(t1) * scale, math.Sin(t1) * scale}
	p2 := [2]float64{p1[0] - math.Cos(t1+t2)*scale, p1[1] + math.Sin(t1+t2)*scale}
	// Gymnasium draws with x = sin and y = -cos; swap to screen axes.
	a := [2]float64{off, off}
	b := [2]float64{off + p1[1], off + p1[0]}
	d := [2]float64{off + p2[1], off + p2[0]}
	c.line(0, off+scale, size, off+scale, 1, [3]byte{0, 0, 0})
	c.line(a[0], a[1], b[0], b[1], 0.2*scale, [3]byte{0, 204, 204})
	c.line(b[0], b[1], d[0], d[1], 0.2*scale, [3]byte{0, 204, 204})
	c.circle(a[0], a[1], 0.1*scale, [3]byte{204, 204, 0})
	c.circle(b[0], b[1], 0.1*scale, [3]byte{204, 204, 0})
	return c.render()
}
