// Package wxjson is a small zero-copy JSON scanner for the hot decoding paths
// of package kf (sync_msg pages).
//
// A Scanner walks one JSON text held in a string. Keys and string values are
// returned as substrings of that string, so decoding a string costs no
// allocation unless it contains an escape sequence (a backslash), in which
// case the unescaped copy is allocated. Numbers are parsed in place.
//
// The scanner is a pull parser with a sticky error, in the style of
// bufio.Scanner: after the first error every method returns a zero value (and
// loops driven by Key and Elem stop), and Err reports the error. The input is
// fully validated against the JSON grammar (RFC 8259) for every value that is
// read or skipped, so a text the scanner accepts is a text encoding/json
// accepts. Invalid UTF-8 inside strings is passed through unchanged (where
// encoding/json would substitute U+FFFD). Object keys are matched exactly, not
// case-insensitively as encoding/json does.
//
// Typical use:
//
//	sc := wxjson.New(text)
//	if sc.Object() {
//		for key, ok := sc.Key(); ok; key, ok = sc.Key() {
//			switch key {
//			case "name":
//				v.Name = sc.Str()
//			case "count":
//				v.Count = sc.Int64()
//			default:
//				sc.Skip()
//			}
//		}
//	}
//	sc.End()
//	if err := sc.Err(); err != nil { ... }
package wxjson

import (
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects that Skip accepts.
const MaxDepth = 512

// Kind is the kind of the next JSON value, as reported by Peek.
type Kind uint8

// Value kinds.
const (
	Invalid Kind = iota // end of input, a delimiter, or a byte that starts no value
	Null
	Bool
	Number
	String
	Array
	Object
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "bool"
	case Number:
		return "number"
	case String:
		return "string"
	case Array:
		return "array"
	case Object:
		return "object"
	}
	return "invalid"
}

// SyntaxError is a malformed or unexpected input, with the byte offset where
// it was found.
type SyntaxError struct {
	Offset int    // byte offset in the input
	Msg    string // what was wrong
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return "json: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// Scanner reads one JSON text from a string. The zero value scans an empty
// input; use New or Reset. A Scanner is a small value: keep it on the stack.
type Scanner struct {
	s   string
	i   int
	err error
	// comma is true when a value was just completed, so that the next key
	// or element must be preceded by ','. Opening an object or array clears
	// it; completing any value (including closing a container) sets it.
	comma bool
}

// New returns a Scanner positioned at the start of s.
func New(s string) Scanner { return Scanner{s: s} }

// Reset makes d scan s from byte offset pos, with no error. Use it to re-read
// a value whose offset was recorded with Pos: the scanner then behaves as if
// the value at pos were the whole input (End is not meaningful).
func (d *Scanner) Reset(s string, pos int) {
	*d = Scanner{s: s, i: pos}
}

// Input returns the string being scanned.
func (d *Scanner) Input() string { return d.s }

// Pos returns the current byte offset. After Peek it is the offset of the
// first byte of the next value; after reading a value it is just past it.
func (d *Scanner) Pos() int { return d.i }

// Err returns the first error met, or nil.
func (d *Scanner) Err() error { return d.err }

// Fail records a *SyntaxError with msg at the current position (if no error
// was recorded yet) and stops the scan: callers use it for semantic errors
// such as an unexpected value. It returns the recorded error.
func (d *Scanner) Fail(msg string) error {
	d.failAt(d.i, msg)
	return d.err
}

func (d *Scanner) failAt(i int, msg string) {
	if d.err == nil {
		d.err = &SyntaxError{Offset: i, Msg: msg}
	}
	// Stop all further progress: loops driven by Key/Elem end.
	d.i = len(d.s)
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func (d *Scanner) ws() {
	for d.i < len(d.s) && isSpace(d.s[d.i]) {
		d.i++
	}
}

// Peek skips white space and returns the kind of the next value without
// consuming it. It returns Invalid after an error, at the end of the input,
// or when the next byte cannot start a value.
func (d *Scanner) Peek() Kind {
	if d.err != nil {
		return Invalid
	}
	d.ws()
	if d.i >= len(d.s) {
		return Invalid
	}
	switch c := d.s[d.i]; c {
	case '{':
		return Object
	case '[':
		return Array
	case '"':
		return String
	case 't', 'f':
		return Bool
	case 'n':
		return Null
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return Number
		}
	}
	return Invalid
}

// End checks that nothing but white space follows the last value.
func (d *Scanner) End() {
	if d.err != nil {
		return
	}
	d.ws()
	if d.i != len(d.s) {
		d.failAt(d.i, "unexpected data after top-level value")
	}
}

// Null consumes a null and reports true if the next value is null; otherwise
// it consumes nothing and reports false.
func (d *Scanner) Null() bool {
	if d.Peek() != Null {
		return false
	}
	d.literal("null")
	return d.err == nil
}

// Object consumes the '{' opening an object and reports true. For a null it
// consumes the null and reports false with no error (so that null reads as
// an absent object, as in encoding/json); for anything else it records an
// error and reports false. Read the members with Key.
func (d *Scanner) Object() bool {
	switch d.Peek() {
	case Object:
		d.i++
		d.comma = false
		return true
	case Null:
		d.literal("null")
		return false
	}
	d.failAt(d.i, "expected object")
	return false
}

// Array consumes the '[' opening an array and reports true. For a null it
// consumes the null and reports false with no error; for anything else it
// records an error and reports false. Read the elements with Elem.
func (d *Scanner) Array() bool {
	switch d.Peek() {
	case Array:
		d.i++
		d.comma = false
		return true
	case Null:
		d.literal("null")
		return false
	}
	d.failAt(d.i, "expected array")
	return false
}

// Key reads the next member name of the current object and the ':' after it,
// and reports true; the caller must then read or skip the member's value.
// At the closing '}' it consumes it and reports false. On error it reports
// false. Keys containing escapes are unescaped (allocating).
func (d *Scanner) Key() (string, bool) {
	start, end, esc, ok := d.nextKey()
	if !ok {
		return "", false
	}
	if esc {
		return d.unescape(start, end), true
	}
	return d.s[start:end], true
}

// nextKey is Key without unescaping: it returns the bounds of the key's
// contents and whether it holds escapes.
func (d *Scanner) nextKey() (start, end int, esc, ok bool) {
	if d.err != nil {
		return 0, 0, false, false
	}
	d.ws()
	if d.i >= len(d.s) {
		d.failAt(d.i, "unexpected end of input in object")
		return 0, 0, false, false
	}
	if d.s[d.i] == '}' {
		d.i++
		d.comma = true
		return 0, 0, false, false
	}
	if d.comma {
		if d.s[d.i] != ',' {
			d.failAt(d.i, "expected ',' or '}' after object member")
			return 0, 0, false, false
		}
		d.i++
		d.ws()
	}
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		d.failAt(d.i, "expected string for object key")
		return 0, 0, false, false
	}
	start, end, esc = d.scanString()
	if d.err != nil {
		return 0, 0, false, false
	}
	d.ws()
	if d.i >= len(d.s) || d.s[d.i] != ':' {
		d.failAt(d.i, "expected ':' after object key")
		return 0, 0, false, false
	}
	d.i++
	d.comma = false
	return start, end, esc, true
}

// Elem reports whether the current array has another element, consuming the
// ',' before it; the caller must then read or skip the element. At the
// closing ']' it consumes it and reports false. On error it reports false.
func (d *Scanner) Elem() bool {
	if d.err != nil {
		return false
	}
	d.ws()
	if d.i >= len(d.s) {
		d.failAt(d.i, "unexpected end of input in array")
		return false
	}
	if d.s[d.i] == ']' {
		d.i++
		d.comma = true
		return false
	}
	if d.comma {
		if d.s[d.i] != ',' {
			d.failAt(d.i, "expected ',' or ']' after array element")
			return false
		}
		d.i++
	}
	d.comma = false
	return true
}

// Str reads a string value. A null reads as "". Anything else is an error.
// The result is a substring of the input unless the string holds escapes.
func (d *Scanner) Str() string {
	switch d.Peek() {
	case String:
		start, end, esc := d.scanString()
		if d.err != nil {
			return ""
		}
		d.comma = true
		if esc {
			return d.unescape(start, end)
		}
		return d.s[start:end]
	case Null:
		d.literal("null")
		return ""
	}
	d.failAt(d.i, "expected string")
	return ""
}

// StrOrNumber reads a string, or a number as its literal text (for fields
// whose type differs between sources). A null reads as "".
func (d *Scanner) StrOrNumber() string {
	if d.Peek() == Number {
		start, end, _ := d.scanNumber()
		if d.err != nil {
			return ""
		}
		d.comma = true
		return d.s[start:end]
	}
	return d.Str()
}

// Bool reads true or false. A null reads as false.
func (d *Scanner) Bool() bool {
	switch d.Peek() {
	case Bool:
		if d.s[d.i] == 't' {
			d.literal("true")
			return true
		}
		d.literal("false")
		return false
	case Null:
		d.literal("null")
		return false
	}
	d.failAt(d.i, "expected boolean")
	return false
}

// Uint64 reads a non-negative integer number. A null reads as 0. A fraction,
// an exponent, a sign or an overflow is an error (as in encoding/json).
func (d *Scanner) Uint64() uint64 {
	switch d.Peek() {
	case Number:
	case Null:
		d.literal("null")
		return 0
	default:
		d.failAt(d.i, "expected number")
		return 0
	}
	at := d.i
	start, end, isInt := d.scanNumber()
	if d.err != nil {
		return 0
	}
	if !isInt || d.s[start] == '-' {
		d.failAt(at, "number "+d.s[start:end]+" is not an unsigned integer")
		return 0
	}
	var n uint64
	for k := start; k < end; k++ {
		c := uint64(d.s[k] - '0')
		if n > (math.MaxUint64-c)/10 {
			d.failAt(at, "number "+d.s[start:end]+" overflows uint64")
			return 0
		}
		n = n*10 + c
	}
	d.comma = true
	return n
}

// Int64 reads an integer number. A null reads as 0. A fraction, an exponent
// or an overflow is an error.
func (d *Scanner) Int64() int64 {
	switch d.Peek() {
	case Number:
	case Null:
		d.literal("null")
		return 0
	default:
		d.failAt(d.i, "expected number")
		return 0
	}
	at := d.i
	start, end, isInt := d.scanNumber()
	if d.err != nil {
		return 0
	}
	if !isInt {
		d.failAt(at, "number "+d.s[start:end]+" is not an integer")
		return 0
	}
	neg := d.s[start] == '-'
	k := start
	if neg {
		k++
	}
	var n uint64
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	for ; k < end; k++ {
		c := uint64(d.s[k] - '0')
		if n > (limit-c)/10 {
			d.failAt(at, "number "+d.s[start:end]+" overflows int64")
			return 0
		}
		n = n*10 + c
	}
	d.comma = true
	if neg {
		return -int64(n-1) - 1
	}
	return int64(n)
}

// Float64 reads a number. A null reads as 0. A value out of the float64
// range is an error.
func (d *Scanner) Float64() float64 {
	switch d.Peek() {
	case Number:
	case Null:
		d.literal("null")
		return 0
	default:
		d.failAt(d.i, "expected number")
		return 0
	}
	at := d.i
	start, end, _ := d.scanNumber()
	if d.err != nil {
		return 0
	}
	f, err := strconv.ParseFloat(d.s[start:end], 64)
	if err != nil {
		d.failAt(at, "number "+d.s[start:end]+" out of float64 range")
		return 0
	}
	d.comma = true
	return f
}

// Skip consumes the next value, whatever it is, validating it.
func (d *Scanner) Skip() {
	var stack [MaxDepth / 64]uint64 // bit set = object, clear = array
	depth := 0
	for d.err == nil {
		// Read one value (or open a container).
		switch d.Peek() {
		case Object:
			if depth == MaxDepth {
				d.failAt(d.i, "nesting too deep")
				return
			}
			d.i++
			d.comma = false
			stack[depth/64] |= 1 << (depth % 64)
			depth++
			if _, _, _, ok := d.nextKey(); ok {
				continue
			}
			if d.err != nil {
				return
			}
			depth--
		case Array:
			if depth == MaxDepth {
				d.failAt(d.i, "nesting too deep")
				return
			}
			d.i++
			d.comma = false
			stack[depth/64] &^= 1 << (depth % 64)
			depth++
			if d.Elem() {
				continue
			}
			if d.err != nil {
				return
			}
			depth--
		case String:
			d.scanString()
		case Number:
			d.scanNumber()
		case Bool:
			if d.s[d.i] == 't' {
				d.literal("true")
			} else {
				d.literal("false")
			}
		case Null:
			d.literal("null")
		default:
			if d.err == nil {
				if d.i >= len(d.s) {
					d.failAt(d.i, "unexpected end of input: expected value")
				} else {
					d.failAt(d.i, "invalid character "+strconv.QuoteRune(rune(d.s[d.i]))+" looking for value")
				}
			}
			return
		}
		if d.err != nil {
			return
		}
		d.comma = true
		// A value is complete: close containers until one has more.
		for depth > 0 {
			if stack[(depth-1)/64]&(1<<((depth-1)%64)) != 0 {
				if _, _, _, ok := d.nextKey(); ok {
					break
				}
			} else if d.Elem() {
				break
			}
			if d.err != nil {
				return
			}
			depth--
		}
		if depth == 0 {
			return
		}
	}
}

// Value consumes the next value and returns its byte span [start, end) in
// the input, without surrounding white space.
func (d *Scanner) Value() (start, end int) {
	d.Peek()
	start = d.i
	d.Skip()
	if d.err != nil {
		return 0, 0
	}
	return start, d.i
}

// literal consumes the literal word at d.i (the caller has checked its first
// byte).
func (d *Scanner) literal(word string) {
	if !strings.HasPrefix(d.s[d.i:], word) {
		d.failAt(d.i, "invalid literal (expected "+word+")")
		return
	}
	d.i += len(word)
	d.comma = true
}

// scanNumber consumes a number at d.i, checking the grammar, and returns its
// bounds and whether it is an integer (no fraction or exponent).
func (d *Scanner) scanNumber() (start, end int, isInt bool) {
	s := d.s
	i := d.i
	start = i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		d.failAt(i, "invalid number")
		return 0, 0, false
	}
	isInt = true
	if i < len(s) && s[i] == '.' {
		isInt = false
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			d.failAt(i, "invalid number: missing digits after '.'")
			return 0, 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		isInt = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			d.failAt(i, "invalid number: missing exponent digits")
			return 0, 0, false
		}
	}
	d.i = i
	return start, i, isInt
}

// scanString consumes the string starting at d.s[d.i] == '"' and returns the
// bounds of its contents and whether it holds escape sequences. Escapes are
// validated; raw control characters are rejected.
func (d *Scanner) scanString() (start, end int, esc bool) {
	s := d.s
	i := d.i + 1
	start = i
	for i < len(s) {
		// Fast path: skip 8 plain bytes at a time (SWAR), stopping at the
		// first word holding '"', '\\' or a control character.
		for i+8 <= len(s) {
			if m := special8(load8(s, i)); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return start, i, esc
		case c == '\\':
			esc = true
			if i+1 >= len(s) {
				d.failAt(i, "unterminated string")
				return 0, 0, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex4(s[i+2:i+6]) {
					d.failAt(i, "invalid \\u escape")
					return 0, 0, false
				}
				i += 6
			default:
				d.failAt(i, "invalid escape in string")
				return 0, 0, false
			}
		case c < 0x20:
			d.failAt(i, "invalid control character in string")
			return 0, 0, false
		default:
			i++
		}
	}
	d.failAt(len(s), "unterminated string")
	return 0, 0, false
}

// load8 returns the 8 bytes s[i:i+8] as a little-endian word.
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special8 returns a mask with the high bit set in (at least) the lowest
// byte of x that is '"', '\\' or below 0x20, and zero if there is none.
// Bytes above the lowest match may be flagged spuriously (borrows), so only
// the lowest set bit is meaningful.
func special8(x uint64) uint64 {
	q := x ^ (lsb * '"')
	b := x ^ (lsb * '\\')
	return ((q-lsb)&^q | (b-lsb)&^b | (x-lsb*0x20)&^x) & msb
}

func isHex4(s string) bool {
	for k := 0; k < 4; k++ {
		c := s[k]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hex4(s string) rune {
	var r rune
	for k := 0; k < 4; k++ {
		c := s[k]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescape decodes the (already validated) string contents s[start:end].
// Unpaired surrogates become U+FFFD, as in encoding/json.
func (d *Scanner) unescape(start, end int) string {
	s := d.s[start:end]
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := strings.IndexByte(s[i:], '\\')
			if j < 0 {
				b.WriteString(s[i:])
				break
			}
			b.WriteString(s[i : i+j])
			i += j
			continue
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b.WriteByte(s[i+1])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r := hex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := hex4(s[i+2 : i+6]); utf16.DecodeRune(r, r2) != utf8.RuneError {
						b.WriteRune(utf16.DecodeRune(r, r2))
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
			continue
		}
		i += 2
	}
	return b.String()
}
