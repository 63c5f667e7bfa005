package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
)

// table is a human-readable table, aligned with text/tabwriter. Empty cells
// print as "-" so that columns stay readable.
type table struct {
	header []string
	rows   [][]string
}

func newTable(header ...string) *table { return &table{header: header} }

// row adds a row; each cell is formatted with cell.
func (t *table) row(cells ...any) {
	r := make([]string, len(cells))
	for i, c := range cells {
		r[i] = cell(c)
	}
	t.rows = append(t.rows, r)
}

// write prints the table (the header only if there is one).
func (t *table) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if len(t.header) > 0 {
		fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	}
	for _, r := range t.rows {
		// Short rows are padded so that the columns stay aligned.
		for len(r) < len(t.header) {
			r = append(r, "-")
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// cell formats one value for a table.
func cell(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		s = ""
	case string:
		s = x
	case bool:
		s = "no"
		if x {
			s = "yes"
		}
	case time.Time:
		if !x.IsZero() {
			s = x.Format("2006-01-02 15:04:05")
		}
	case *float64:
		if x != nil {
			s = strconv.FormatFloat(*x, 'f', -1, 64)
		}
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case fmt.Stringer:
		s = x.String()
	default:
		s = fmt.Sprint(x)
	}
	if s == "" {
		return "-"
	}
	// Keep one row per line and the columns aligned.
	return strings.NewReplacer("\t", " ", "\r\n", " ⏎ ", "\n", " ⏎ ", "\r", " ").Replace(s)
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// show prints v as one JSON document with --output json, and t otherwise.
func (a *app) show(v any, t *table) error {
	if a.output == "json" {
		return a.jsonDoc(v)
	}
	return t.write(a.stdout)
}

// showKV prints v as JSON, or pairs (name, value, name, value, ...) as a
// two-column table: the output of commands that return one object.
func (a *app) showKV(v any, pairs ...any) error {
	t := newTable()
	for i := 0; i+1 < len(pairs); i += 2 {
		t.row(pairs[i], pairs[i+1])
	}
	return a.show(v, t)
}

// jsonDoc prints v as one indented JSON document.
func (a *app) jsonDoc(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = a.stdout.Write(b)
	return err
}

// jsonLine prints raw JSON compacted on one line (JSON lines, for streams).
func (a *app) jsonLine(raw []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := a.stdout.Write(buf.Bytes())
	return err
}

// redact removes the run's secrets from s (the library already redacts
// tokens and secrets from URLs; this is a second line of defence).
func (a *app) redact(s string) string {
	for _, sec := range a.secrets() {
		s = strings.ReplaceAll(s, sec, "REDACTED")
	}
	return s
}

// jsonError is the JSON form of an error, printed on stderr with --output
// json.
type jsonError struct {
	Message    string `json:"message"`
	ExitCode   int    `json:"exit_code"`
	Op         string `json:"op,omitempty"`
	ErrCode    int    `json:"errcode,omitempty"`
	Name       string `json:"name,omitempty"`
	ErrMsg     string `json:"errmsg,omitempty"`
	Meaning    string `json:"meaning,omitempty"`
	Remedy     string `json:"remedy,omitempty"`
	HTTPStatus int    `json:"http_status,omitempty"`
}

// printError prints err on stderr: for an API error, the code with its
// meaning and remedy; for a usage error, where to find help.
func (a *app) printError(cmd *cobra.Command, err error) {
	msg := a.redact(err.Error())
	var apiErr *kf.APIError
	isAPI := errors.As(err, &apiErr)
	code := exitCode(err)
	if a.output == "json" {
		je := jsonError{Message: msg, ExitCode: code}
		if isAPI {
			je.Op, je.ErrCode, je.ErrMsg, je.HTTPStatus = apiErr.Op, int(apiErr.Code), a.redact(apiErr.Msg), apiErr.HTTPStatus
			if apiErr.Code != 0 {
				je.Name, je.Meaning, je.Remedy = apiErr.Code.String(), apiErr.Code.Meaning(), apiErr.Code.Remedy()
			}
		}
		b, _ := json.Marshal(map[string]any{"error": je})
		fmt.Fprintf(a.stderr, "%s\n", b)
		return
	}
	if isAPI && apiErr.Code != 0 {
		remedy := apiErr.Code.Remedy()
		if remedy != "" {
			msg = strings.Replace(msg, "; remedy: "+remedy, "", 1)
		}
		fmt.Fprintf(a.stderr, "error: %s\n", msg)
		if m := apiErr.Code.Meaning(); m != "" {
			fmt.Fprintf(a.stderr, "  meaning: %s\n", m)
		}
		if remedy != "" {
			fmt.Fprintf(a.stderr, "  remedy:  %s\n", remedy)
		}
		return
	}
	fmt.Fprintf(a.stderr, "error: %s\n", msg)
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
}
