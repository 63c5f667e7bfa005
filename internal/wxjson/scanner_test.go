package wxjson

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestObjectWalk(t *testing.T) {
	t.Parallel()
	in := " {\"s\" : \"plain\", \"e\":\"a\\n\\u4e2d\\\"\", \"u\":18446744073709551615, \"i\":-9223372036854775808," +
		" \"f\":-1.25e2, \"t\":true, \"n\":null, \"skip\":{\"x\":[1,{\"y\":[]},\"z\"]}, \"arr\":[1,2,3], \"k\\u0065y\":\"v\"}\n"
	sc := New(in)
	got := map[string]any{}
	if !sc.Object() {
		t.Fatalf("Object: %v", sc.Err())
	}
	for key, ok := sc.Key(); ok; key, ok = sc.Key() {
		switch key {
		case "s", "e", "key":
			got[key] = sc.Str()
		case "u":
			got[key] = sc.Uint64()
		case "i":
			got[key] = sc.Int64()
		case "f":
			got[key] = sc.Float64()
		case "t":
			got[key] = sc.Bool()
		case "n":
			got[key] = sc.Null()
		case "arr":
			var xs []int64
			for sc.Array(); sc.Elem(); {
				xs = append(xs, sc.Int64())
			}
			got[key] = xs
		default:
			start, end := sc.Value()
			got[key] = in[start:end]
		}
	}
	sc.End()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"s": "plain", "e": "a\n中\"", "u": uint64(math.MaxUint64), "i": int64(math.MinInt64),
		"f": -125.0, "t": true, "n": true, "skip": `{"x":[1,{"y":[]},"z"]}`, "arr": []int64{1, 2, 3}, "key": "v",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestZeroCopy(t *testing.T) {
	in := `{"key":"value","esc":"a\tb"}`
	var sc Scanner
	allocs := testing.AllocsPerRun(100, func() {
		sc = New(in)
		sc.Object()
		sc.Key()
		if sc.Str() != "value" {
			t.Fatal("wrong value")
		}
		sc.Key()
		sc.Skip()
		sc.Key()
		sc.End()
	})
	if allocs != 0 {
		t.Errorf("%v allocations for plain strings, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		sc = New(in)
		sc.Object()
		sc.Key()
		sc.Skip()
		sc.Key()
		if sc.Str() != "a\tb" {
			t.Fatal("wrong value")
		}
	})
	if allocs != 1 {
		t.Errorf("%v allocations for an escaped string, want 1", allocs)
	}
}

func TestNullReadsAsZero(t *testing.T) {
	t.Parallel()
	for _, read := range []func(*Scanner) any{
		func(s *Scanner) any { return s.Str() },
		func(s *Scanner) any { return s.StrOrNumber() },
		func(s *Scanner) any { return s.Uint64() },
		func(s *Scanner) any { return s.Int64() },
		func(s *Scanner) any { return s.Float64() },
		func(s *Scanner) any { return s.Bool() },
		func(s *Scanner) any { return s.Object() },
		func(s *Scanner) any { return s.Array() },
	} {
		sc := New(`[null]`)
		sc.Array()
		sc.Elem()
		v := read(&sc)
		if sc.Elem() || sc.Err() != nil {
			t.Errorf("after null: err %v", sc.Err())
		}
		sc.End()
		if sc.Err() != nil {
			t.Errorf("End: %v", sc.Err())
		}
		switch v := v.(type) {
		case string:
			if v != "" {
				t.Errorf("null read as %q", v)
			}
		case bool:
			if v {
				t.Error("null read as true")
			}
		default:
			if v != uint64(0) && v != int64(0) && v != float64(0) {
				t.Errorf("null read as %v", v)
			}
		}
	}
}

func TestNumbers(t *testing.T) {
	t.Parallel()
	uints := map[string]uint64{"0": 0, "7": 7, "1700000000": 1700000000, "18446744073709551615": math.MaxUint64}
	for in, want := range uints {
		sc := New(in)
		if got := sc.Uint64(); got != want || sc.Err() != nil {
			t.Errorf("Uint64(%s) = %d, %v", in, got, sc.Err())
		}
	}
	for _, in := range []string{"-1", "1.0", "1e3", "18446744073709551616", "99999999999999999999", "01", "-", "+1", `"1"`, "true"} {
		sc := New(in)
		sc.Uint64()
		sc.End()
		if sc.Err() == nil {
			t.Errorf("Uint64(%s) succeeded", in)
		}
	}
	ints := map[string]int64{"-0": 0, "-7": -7, "9223372036854775807": math.MaxInt64, "-9223372036854775808": math.MinInt64}
	for in, want := range ints {
		sc := New(in)
		if got := sc.Int64(); got != want || sc.Err() != nil {
			t.Errorf("Int64(%s) = %d, %v", in, got, sc.Err())
		}
	}
	for _, in := range []string{"9223372036854775808", "-9223372036854775809", "1.5", "2E1"} {
		sc := New(in)
		sc.Int64()
		if sc.Err() == nil {
			t.Errorf("Int64(%s) succeeded", in)
		}
	}
	floats := map[string]float64{"23.106021881103501": 23.106021881103501, "-0.5": -0.5, "1E-2": 0.01, "3": 3, "1e+2": 100}
	for in, want := range floats {
		sc := New(in)
		if got := sc.Float64(); got != want || sc.Err() != nil {
			t.Errorf("Float64(%s) = %v, %v", in, got, sc.Err())
		}
	}
	for _, in := range []string{"1e999", ".5", "1.", "1e", "1e+", "-.5", "0x10", "NaN"} {
		sc := New(in)
		sc.Float64()
		sc.End()
		if sc.Err() == nil {
			t.Errorf("Float64(%s) succeeded", in)
		}
	}
	sc := New("12.50")
	if got := sc.StrOrNumber(); got != "12.50" {
		t.Errorf("StrOrNumber = %q", got)
	}
}

func TestStrings(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`""`, `"plain ascii"`, `"中文 😀 mixed"`, `"\"\\\/\b\f\n\r\t"`, `"\u0000\u001f\u00e9\u4E2D"`,
		`"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`,
		`"long string with an escape at the very end of a word: 0123456789abcdef\n"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("bad test input %s: %v", in, err)
		}
		sc := New(in)
		got := sc.Str()
		sc.End()
		if sc.Err() != nil || got != want {
			t.Errorf("Str(%s) = %q, %v; want %q", in, got, sc.Err(), want)
		}
	}
	// Quotes, escapes and multi-byte characters at every offset around the
	// 8-byte words of the fast path.
	for n := range 20 {
		for _, mid := range []string{``, `\n`, `\"`, `中`, `\u00e9`} {
			in := `"` + strings.Repeat("a", n) + mid + strings.Repeat("b", n%9) + `"`
			var want string
			if err := json.Unmarshal([]byte(in), &want); err != nil {
				t.Fatal(err)
			}
			sc := New(in + ` ,`)
			if got := sc.Str(); got != want || sc.Err() != nil || sc.Pos() != len(in) {
				t.Errorf("Str(%s) = %q, %v at %d; want %q", in, got, sc.Err(), sc.Pos(), want)
			}
		}
	}
	for _, in := range []string{`"`, `"abc`, `"\`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\x00b\"", "\"tab\there\"", "\"0123456789\x1f\"", `'x'`} {
		sc := New(in)
		sc.Str()
		sc.End()
		if sc.Err() == nil {
			t.Errorf("Str(%q) succeeded", in)
		}
	}
}

func TestSkipValidates(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{}`, `[]`, `{"a":[]}`, `[{}]`, `[[[]]]`, `{"a":{"b":{"c":null}}}`, ` [ 1 , "x" , true , false , null , -0.5e-3 , {} ] `,
		`"s"`, `0`, `true`, `null`, `{"":""}`, `[{"a":1},{"b":[2,{"c":3}]}]`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	} {
		sc := New(in)
		sc.Skip()
		sc.End()
		if sc.Err() != nil {
			t.Errorf("Skip(%s): %v", in, sc.Err())
		}
	}
	for _, in := range []string{
		``, ` `, `{`, `[`, `}`, `]`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`, `[1,]`, `[,1]`, `[1 2]`, `{"a":1 "b":2}`,
		`{"a" 1}`, `{1:2}`, `[}`, `{]`, `[tru]`, `[nul]`, `[falsey]`, `{"a":1}}`, `[1]]`, `"a" "b"`, `01`, `1 2`,
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	} {
		sc := New(in)
		sc.Skip()
		sc.End()
		if sc.Err() == nil {
			t.Errorf("Skip(%q) succeeded", in)
		}
		if json.Valid([]byte(in)) && !strings.HasPrefix(in, "[[") {
			t.Errorf("test input %q is valid JSON", in)
		}
	}
}

func TestErrorsAreSticky(t *testing.T) {
	t.Parallel()
	sc := New(`{"a":x, "b":"y"}`)
	sc.Object()
	sc.Key()
	sc.Str()
	err := sc.Err()
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 5 {
		t.Fatalf("err = %#v, want a SyntaxError at offset 5", err)
	}
	if _, ok := sc.Key(); ok {
		t.Error("Key after an error reported a key")
	}
	if sc.Elem() || sc.Object() || sc.Array() || sc.Str() != "" || sc.Peek() != Invalid {
		t.Error("reads after an error returned values")
	}
	if sc.Err() != err {
		t.Error("the first error was replaced")
	}
	if !strings.Contains(err.Error(), "offset 5") {
		t.Errorf("Error() = %q", err.Error())
	}
	sc2 := New(`{"a":1}`)
	sc2.Object()
	sc2.Key()
	if sc2.Fail("custom") == nil || sc2.Err() == nil {
		t.Error("Fail did not record an error")
	}
}

func TestResetAndKinds(t *testing.T) {
	t.Parallel()
	in := `{"a":[1,"x",true,null,{}]}`
	sc := New(in)
	sc.Object()
	sc.Key()
	pos := sc.Pos()
	sc.Skip()
	sc.Reset(in, pos)
	var kinds []string
	for sc.Array(); sc.Elem(); {
		kinds = append(kinds, sc.Peek().String())
		sc.Skip()
	}
	if diff := cmp.Diff([]string{"number", "string", "bool", "null", "object"}, kinds); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if sc.Err() != nil || sc.Input() != in {
		t.Errorf("err %v", sc.Err())
	}
	if Kind(99).String() != "invalid" || Array.String() != "array" {
		t.Error("Kind.String")
	}
	for _, in := range []string{`1`, `"x"`, `[`} {
		sc := New(in)
		if sc.Object() {
			t.Errorf("Object(%s) = true", in)
		}
		sc = New(in)
		if in != "[" && sc.Array() {
			t.Errorf("Array(%s) = true", in)
		}
	}
}

func TestSpecial8(t *testing.T) {
	t.Parallel()
	// Every byte value at every position: the lowest flagged byte is the
	// first special one.
	for pos := range 8 {
		for c := range 256 {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			m := special8(load8(string(b), 0))
			special := c == '"' || c == '\\' || c < 0x20
			switch {
			case special && (m == 0 || int(bitsTrailing(m)/8) != pos):
				t.Errorf("byte %#x at %d: mask %#x", c, pos, m)
			case !special && m != 0:
				t.Errorf("byte %#x at %d flagged: mask %#x", c, pos, m)
			}
		}
	}
}

func bitsTrailing(m uint64) int {
	n := 0
	for m&1 == 0 {
		m >>= 1
		n++
	}
	return n
}

// FuzzScanner checks the scanner against encoding/json: Skip accepts
// exactly the valid JSON texts (up to MaxDepth), and a valid string decodes
// to the same value.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,2.5,-3e4,true,false,null,"x\n\u4e2d"]}`, `"\ud83d\ude00"`, `[]`, `{}`, `0`, `-0.0E+0`,
		`{"msgid":"m","text":{"content":"hi"}}`, `"abc\"def"`, `[1,[2,[3]]]`, `{"a":1,}`, `"\ud800\u0041"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc := New(string(data))
		sc.Skip()
		sc.End()
		err := sc.Err()
		valid := json.Valid(data)
		if err == nil && !valid {
			t.Fatalf("Skip accepted invalid JSON %q", data)
		}
		if err != nil && valid && !strings.Contains(err.Error(), "nesting too deep") {
			t.Fatalf("Skip rejected valid JSON %q: %v", data, err)
		}
		// Strings decode like encoding/json (for valid UTF-8: encoding/json
		// replaces invalid bytes, the scanner keeps them).
		peek := New(string(data))
		if valid && peek.Peek() == String && utf8.Valid(data) {
			var want string
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			sc := New(string(data))
			if got := sc.Str(); got != want || sc.Err() != nil {
				t.Fatalf("Str(%q) = %q, %v; want %q", data, got, sc.Err(), want)
			}
		}
		// Typed reads never panic, whatever the input.
		for _, read := range []func(*Scanner){
			func(s *Scanner) { s.Uint64() }, func(s *Scanner) { s.Int64() }, func(s *Scanner) { s.Float64() },
			func(s *Scanner) { s.Bool() }, func(s *Scanner) { s.StrOrNumber() }, func(s *Scanner) { s.Value() },
			func(s *Scanner) {
				if s.Object() {
					for _, ok := s.Key(); ok; _, ok = s.Key() {
						s.Skip()
					}
				}
			},
		} {
			sc := New(string(data))
			read(&sc)
			sc.End()
		}
	})
}
