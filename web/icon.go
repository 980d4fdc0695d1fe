package web

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"
)

// The app's mark: a white pen stroke ending in a tick, on the brand colour.
var (
	brand = color.RGBA{0x0b, 0x5d, 0x55, 0xff}
	white = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// stroke is the mark's path in a unit square, as line segments with a width.
var stroke = [][2][2]float64{
	{{0.25, 0.52}, {0.42, 0.68}},
	{{0.42, 0.68}, {0.76, 0.30}},
}

const strokeWidth = 0.085

// drawIcon draws the mark at size px; inset shrinks it into the maskable safe zone
// (the inner 80 %) and fills the whole square, while a plain icon gets rounded corners.
func drawIcon(size int, maskable bool) []byte {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	s := float64(size)
	radius := 0.2 * s
	scale, off := 1.0, 0.0
	if maskable {
		scale, off = 0.8, 0.1
	}
	for y := range size {
		for x := range size {
			px, py := float64(x)+0.5, float64(y)+0.5
			if !maskable && outsideRounded(px, py, s, radius) {
				continue
			}
			// coverage of the stroke, anti-aliased over one pixel
			ux, uy := (px/s-off)/scale, (py/s-off)/scale
			d := math.Inf(1)
			for _, seg := range stroke {
				d = math.Min(d, segDist(ux, uy, seg[0], seg[1]))
			}
			a := math.Max(0, math.Min(1, (strokeWidth/2-d)*s*scale+0.5))
			img.SetRGBA(x, y, mix(brand, white, a))
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func outsideRounded(x, y, s, r float64) bool {
	cx, cy := math.Max(r, math.Min(s-r, x)), math.Max(r, math.Min(s-r, y))
	return math.Hypot(x-cx, y-cy) > r
}

func segDist(x, y float64, a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	t := ((x-a[0])*dx + (y-a[1])*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(x-(a[0]+t*dx), y-(a[1]+t*dy))
}

func mix(a, b color.RGBA, t float64) color.RGBA {
	l := func(p, q uint8) uint8 { return uint8(math.Round(float64(p)*(1-t) + float64(q)*t)) }
	return color.RGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 0xff}
}

const iconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" rx="20" fill="#0b5d55"/>` +
	`<path d="M25 52 L42 68 L76 30" fill="none" stroke="#fff" stroke-width="8.5" stroke-linecap="round" stroke-linejoin="round"/></svg>`

var (
	iconsOnce sync.Once
	icons     map[string][]byte
)

// appIcons returns the icons by file name, drawn once.
func appIcons() map[string][]byte {
	iconsOnce.Do(func() {
		icons = map[string][]byte{
			"icon-192.png":          drawIcon(192, false),
			"icon-512.png":          drawIcon(512, false),
			"icon-maskable-512.png": drawIcon(512, true),
			"icon.svg":              []byte(iconSVG),
		}
	})
	return icons
}
