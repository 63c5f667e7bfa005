package main

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// metrics is a minimal Prometheus registry: counters and gauges with
// labels, written by hand in the text exposition format (version 0.0.4), so
// that kfctl serve needs no client library. It is safe for concurrent use.
type metrics struct {
	mu     sync.Mutex
	fams   map[string]*family
	gauges []gaugeFunc // computed at scrape time
}

// family is one metric name with its HELP, TYPE and series.
type family struct {
	name, help, typ string
	labels          []string           // label names, in order
	series          map[string]*series // encoded label values → series
}

// series is one labelled series: its label values (kept as given, since a
// value may hold any byte, the NUL of the map key included) and its value.
type series struct {
	values []string
	v      float64
}

// gaugeFunc is a gauge computed when /metrics is read.
type gaugeFunc struct {
	name, help string
	fn         func() float64
}

func newMetrics() *metrics { return &metrics{fams: map[string]*family{}} }

// counter declares a counter (its name should end in _total).
func (m *metrics) counter(name, help string, labels ...string) {
	m.declare(name, help, "counter", labels)
}

// gauge declares a gauge set with set.
func (m *metrics) gauge(name, help string, labels ...string) {
	m.declare(name, help, "gauge", labels)
}

// gaugeFunc declares a gauge without labels read from fn at each scrape.
func (m *metrics) gaugeFunc(name, help string, fn func() float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gauges = append(m.gauges, gaugeFunc{name: name, help: help, fn: fn})
}

func (m *metrics) declare(name, help, typ string, labels []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.fams[name]; ok {
		panic("kfctl: metric declared twice: " + name)
	}
	f := &family{name: name, help: help, typ: typ, labels: labels, series: map[string]*series{}}
	if len(labels) == 0 {
		f.series[""] = &series{} // an unlabelled series exists from the start
	}
	m.fams[name] = f
}

// add adds v to the series of the counter (or gauge) name with the label
// values given in the declared order.
func (m *metrics) add(name string, v float64, values ...string) {
	m.update(name, values, func(old float64) float64 { return old + v })
}

// inc adds 1.
func (m *metrics) inc(name string, values ...string) { m.add(name, 1, values...) }

// set sets a gauge.
func (m *metrics) set(name string, v float64, values ...string) {
	m.update(name, values, func(float64) float64 { return v })
}

func (m *metrics) update(name string, values []string, fn func(float64) float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.fams[name]
	if f == nil || len(values) != len(f.labels) {
		panic(fmt.Sprintf("kfctl: metric %s: undeclared or wrong number of labels (%d)", name, len(values)))
	}
	k := seriesKey(values)
	s := f.series[k]
	if s == nil {
		s = &series{values: slices.Clone(values)}
		f.series[k] = s
	}
	s.v = fn(s.v)
}

// seriesKey encodes label values injectively (each value quoted), so that
// values holding the separator cannot collide or be split wrongly.
func seriesKey(values []string) string {
	var b strings.Builder
	for _, v := range values {
		b.WriteString(strconv.Quote(v))
	}
	return b.String()
}

// value returns the value of one series (0 when it does not exist); for
// tests and summaries.
func (m *metrics) value(name string, values ...string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.fams[name]; f != nil {
		if s := f.series[seriesKey(values)]; s != nil {
			return s.v
		}
	}
	return 0
}

// sum returns the sum of every series of a family.
func (m *metrics) sum(name string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var t float64
	if f := m.fams[name]; f != nil {
		for _, s := range f.series {
			t += s.v
		}
	}
	return t
}

// write prints every family in the text exposition format, sorted by name
// and by label values so that the output is stable.
func (m *metrics) write(w io.Writer) error {
	m.mu.Lock()
	gauges := slices.Clone(m.gauges)
	m.mu.Unlock()
	vals := make([]float64, len(gauges))
	for i, g := range gauges { // outside the lock: fn may be slow
		vals[i] = g.fn()
	}

	var b strings.Builder
	m.mu.Lock()
	type entry struct {
		name string
		f    *family
		g    int
	}
	var all []entry
	for name, f := range m.fams {
		all = append(all, entry{name: name, f: f})
	}
	for i, g := range gauges {
		all = append(all, entry{name: g.name, g: i})
	}
	slices.SortFunc(all, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for _, e := range all {
		if e.f == nil {
			g := gauges[e.g]
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", g.name, escapeHelp(g.help), g.name, g.name, formatValue(vals[e.g]))
			continue
		}
		f := e.f
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
		keys := make([]string, 0, len(f.series))
		for k := range f.series {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			s := f.series[k]
			b.WriteString(f.name)
			if len(f.labels) > 0 {
				b.WriteByte('{')
				for i, v := range s.values {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(f.labels[i])
					b.WriteString(`="`)
					b.WriteString(escapeLabel(v))
					b.WriteByte('"')
				}
				b.WriteByte('}')
			}
			b.WriteByte(' ')
			b.WriteString(formatValue(s.v))
			b.WriteByte('\n')
		}
	}
	m.mu.Unlock()
	_, err := io.WriteString(w, b.String())
	return err
}

// ServeHTTP serves /metrics.
func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = m.write(w)
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}
