package main

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMetricsLabelValues: label values are escaped as the text format
// requires (backslash, double quote, line feed), and a value holding any
// byte — the NUL that used to separate values in the series key included —
// neither panics the scrape (which held the registry's lock, hanging every
// later update) nor mixes up series.
func TestMetricsLabelValues(t *testing.T) {
	t.Parallel()
	m := newMetrics()
	m.counter("x_total", "Things, with a \\ and a\nnewline in the help.", "a", "b")
	m.inc("x_total", "p\x00q", "r")
	m.inc("x_total", "p", "q\x00r")
	m.add("x_total", 2, `quo"te`, "back\\slash\nnl")

	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	got := rec.Body.String()
	want := "# HELP x_total Things, with a \\\\ and a\\nnewline in the help.\n" +
		"# TYPE x_total counter\n" +
		"x_total{a=\"p\",b=\"q\x00r\"} 1\n" +
		"x_total{a=\"p\x00q\",b=\"r\"} 1\n" +
		"x_total{a=\"quo\\\"te\",b=\"back\\\\slash\\nnl\"} 2\n"
	if got != want {
		t.Errorf("/metrics:\n%q\nwant\n%q", got, want)
	}
	if v := m.value("x_total", "p\x00q", "r"); v != 1 {
		t.Errorf("value = %v, want 1 (two series merged?)", v)
	}
	// The registry still works after the scrape.
	m.inc("x_total", "p", "q\x00r")
	if v := m.value("x_total", "p", "q\x00r"); v != 2 {
		t.Errorf("value = %v, want 2", v)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
	}
}
