package callback

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxDepth bounds element nesting inside <xml> (the root is depth 0). The
// events this package decodes are flat; deeper structures (OA menu events,
// provider auth events) are skipped but still checked for well-formedness.
const maxDepth = 32

// parseEvent decodes a callback message with a small hand-written parser
// (encoding/xml would cost more than all the cryptography of a request).
//
// Accepted: an optional UTF-8 BOM and XML declaration; comments and
// whitespace between elements; a root <xml> element whose children appear
// in any order; child content made of character data and CDATA sections
// (entities &lt; &gt; &amp; &apos; &quot; and numeric character references
// are decoded); empty elements (<A/>); attributes (ignored); and unknown
// children with nested content (skipped, but checked). Values are trimmed
// of surrounding whitespace that lies outside CDATA sections.
//
// Rejected with [ErrMalformed]: anything not well formed, a DOCTYPE or
// processing instruction after the declaration, nesting deeper than
// maxDepth, character data directly inside <xml>, trailing content after
// </xml>, a known scalar element that is repeated or has element content,
// and a CreateTime that is not a decimal number. AuthAddOpenKfId and
// AuthDelOpenKfId may be repeated. It never panics.
//
// Raw is raw itself. The parser works on raw in place and allocates only
// the strings it keeps; well-known values (MsgType, Event names, and
// ToUserName when it equals receiverID) are not allocated at all.
func parseEvent(raw []byte, receiverID string) (Event, error) {
	ev := Event{Raw: raw}
	var m Message // validated, but only kept by Event.Message
	if err := parseInto(raw, receiverID, &ev, &m); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// parseInto parses raw into ev (except Raw) and, if m is not nil, m.
func parseInto(raw []byte, receiverID string, ev *Event, m *Message) error {
	p := xmlParser{s: raw}
	if err := p.begin(); err != nil {
		return err
	}
	var scratch Message
	if m == nil {
		m = &scratch
	}
	var (
		seen uint32
		// Values to copy out of raw, copied together at the end into one
		// allocation.
		pend  [8]pendingValue
		npend int
	)
	var c child
	for {
		if err := p.next(&c); err != nil {
			return err
		}
		if c.done {
			copyValues(pend[:npend])
			return nil
		}
		f := lookupField(c.name)
		if f == fieldNone {
			continue // unknown element: skipped
		}
		if f != fieldAuthAdd && f != fieldAuthDel {
			bit := uint32(1) << f
			if seen&bit != 0 {
				return p.failAt(c.start, "repeated <"+fieldNames[f]+"> element")
			}
			seen |= bit
		}
		if !c.simple {
			return p.failAt(c.start, "element <"+fieldNames[f]+"> must have simple content")
		}
		switch f {
		case fieldAuthAdd:
			ev.x.authAdd = append(ev.x.authAdd, string(c.val))
		case fieldAuthDel:
			ev.x.authDel = append(ev.x.authDel, string(c.val))
		case fieldToken:
			ev.x.token = c.val // kept as a slice of raw: see extra
		case fieldOpenKfID:
			ev.x.openKfID = c.val
		case fieldCreateTime:
			n, ok := parseUnix(c.val)
			if !ok {
				return p.failAt(c.start, "<CreateTime> is not a decimal number")
			}
			ev.CreateTime = time.Unix(n, 0)
		default:
			dst := fieldDest(f, ev, m)
			if v, ok := intern(c.val, receiverID); ok {
				*dst = v
			} else if npend < len(pend) {
				pend[npend] = pendingValue{dst, c.val}
				npend++
			} else {
				*dst = string(c.val)
			}
		}
	}
}

// fieldDest returns the string that field f is decoded into.
func fieldDest(f field, ev *Event, m *Message) *string {
	switch f {
	case fieldToUserName:
		return &ev.ToUserName
	case fieldFromUserName:
		return &ev.FromUserName
	case fieldMsgType:
		return &ev.MsgType
	case fieldEvent:
		return &ev.Event
	case fieldAgentID:
		return &ev.AgentID
	case fieldKfAccount:
		return &ev.x.kfAccount
	case fieldFromKfAccount:
		return &ev.x.fromKfAccount
	case fieldToKfAccount:
		return &ev.x.toKfAccount
	case fieldMsgID:
		return &m.MsgID
	case fieldContent:
		return &m.Content
	case fieldPicURL:
		return &m.PicURL
	case fieldMediaID:
		return &m.MediaID
	case fieldFormat:
		return &m.Format
	case fieldRecognition:
		return &m.Recognition
	case fieldThumbMediaID:
		return &m.ThumbMediaID
	case fieldLocationX:
		return &m.LocationX
	case fieldLocationY:
		return &m.LocationY
	case fieldScale:
		return &m.Scale
	case fieldLabel:
		return &m.Label
	case fieldTitle:
		return &m.Title
	case fieldDescription:
		return &m.Description
	case fieldURL:
		return &m.URL
	}
	return new(string) // unreachable: every other field is handled by the caller
}

// field identifies a known child element of <xml>.
type field uint8

const (
	fieldNone field = iota
	fieldToUserName
	fieldFromUserName
	fieldCreateTime
	fieldMsgType
	fieldEvent
	fieldAgentID
	fieldToken
	fieldOpenKfID
	fieldKfAccount
	fieldFromKfAccount
	fieldToKfAccount
	fieldMsgID
	fieldContent
	fieldPicURL
	fieldMediaID
	fieldFormat
	fieldRecognition
	fieldThumbMediaID
	fieldLocationX
	fieldLocationY
	fieldScale
	fieldLabel
	fieldTitle
	fieldDescription
	fieldURL
	fieldAuthAdd
	fieldAuthDel
	numFields
)

// fieldNames maps each field to its element name.
var fieldNames = [numFields]string{
	fieldToUserName:    "ToUserName",
	fieldFromUserName:  "FromUserName",
	fieldCreateTime:    "CreateTime",
	fieldMsgType:       "MsgType",
	fieldEvent:         "Event",
	fieldAgentID:       "AgentID",
	fieldToken:         "Token",
	fieldOpenKfID:      "OpenKfId",
	fieldKfAccount:     "KfAccount",
	fieldFromKfAccount: "FromKfAccount",
	fieldToKfAccount:   "ToKfAccount",
	fieldMsgID:         "MsgId",
	fieldContent:       "Content",
	fieldPicURL:        "PicUrl",
	fieldMediaID:       "MediaId",
	fieldFormat:        "Format",
	fieldRecognition:   "Recognition",
	fieldThumbMediaID:  "ThumbMediaId",
	fieldLocationX:     "Location_X",
	fieldLocationY:     "Location_Y",
	fieldScale:         "Scale",
	fieldLabel:         "Label",
	fieldTitle:         "Title",
	fieldDescription:   "Description",
	fieldURL:           "Url",
	fieldAuthAdd:       "AuthAddOpenKfId",
	fieldAuthDel:       "AuthDelOpenKfId",
}

// fieldSlots is a small perfect-hash table from element name to field,
// built (and checked for collisions) at init. A Go string switch over
// these names costs several string comparisons per element; this costs
// one.
var fieldSlots = func() (t [64]field) {
	for f := fieldNone + 1; f < numFields; f++ {
		h := fieldHash([]byte(fieldNames[f]))
		if t[h] != fieldNone {
			panic("callback: field hash collision: " + fieldNames[f] + ", " + fieldNames[t[h]])
		}
		t[h] = f
	}
	return t
}()

// fieldHash hashes a name by its length and three of its bytes (the
// multipliers were searched for to make the known names collision-free).
func fieldHash(name []byte) int {
	n := len(name)
	if n == 0 {
		return 0
	}
	return (n + int(name[0])*9 + int(name[n/3])*3 + int(name[n-1])*4) & 63
}

// lookupField returns the field named name, or fieldNone.
func lookupField(name []byte) field {
	f := fieldSlots[fieldHash(name)]
	if f != fieldNone && string(name) == fieldNames[f] {
		return f
	}
	return fieldNone
}

// parseEnvelope extracts the Encrypt value from the outer XML of an
// encrypted callback POST (ToUserName, Encrypt, optional AgentID, and in
// Official Account compatible mode the clear fields too). It accepts the
// same syntax as parseEvent and rejects a repeated ToUserName, Encrypt or
// AgentID, and a missing or empty Encrypt. The result aliases body or a
// fresh buffer.
//
// It is equivalent to wxcrypto.ParseEncryptedPostBody for every envelope
// the platforms send, but works on the body in place instead of copying
// it to a string first: on the request path that copy is the single most
// expensive step after the cryptography.
func parseEnvelope(body []byte) ([]byte, error) {
	p := xmlParser{s: body}
	if err := p.begin(); err != nil {
		return nil, err
	}
	var (
		enc  []byte
		seen uint8
	)
	var c child
	for {
		if err := p.next(&c); err != nil {
			return nil, err
		}
		if c.done {
			break
		}
		var bit uint8
		switch string(c.name) {
		case "ToUserName":
			bit = 1
		case "Encrypt":
			bit = 2
		case "AgentID":
			bit = 4
		default:
			continue
		}
		if seen&bit != 0 {
			return nil, p.failAt(c.start, "repeated <"+string(c.name)+"> element")
		}
		seen |= bit
		if !c.simple {
			return nil, p.failAt(c.start, "element <"+string(c.name)+"> must have simple content")
		}
		if bit == 2 {
			enc = c.val
		}
	}
	if len(enc) == 0 {
		return nil, fmt.Errorf("%w: missing or empty <Encrypt> element", ErrMalformed)
	}
	return enc, nil
}

// knownValues are the values that intern returns without allocating,
// grouped by length.
var knownValues = func() (t [32][]string) {
	for _, v := range []string{
		MsgTypeEvent, EventKfMsgOrEvent, EventKfAccountAuthChange,
		EventKfCreateSession, EventKfCloseSession, EventKfSwitchSession,
		"sys", "text", "image", "voice", "video", "shortvideo", "location", "link",
	} {
		t[len(v)] = append(t[len(v)], v)
	}
	return t
}()

// intern returns b as a string without allocating if it is a well-known
// value (or receiverID), and false otherwise.
func intern(b []byte, receiverID string) (string, bool) {
	if len(b) == 0 {
		return "", true
	}
	if len(b) < len(knownValues) {
		for _, v := range knownValues[len(b)] {
			if string(b) == v {
				return v, true
			}
		}
	}
	if receiverID != "" && string(b) == receiverID {
		return receiverID, true
	}
	return "", false
}

// pendingValue is a value to be copied into *dst.
type pendingValue struct {
	dst *string
	val []byte
}

// copyValues copies the values into one new string and points each
// destination at its part, so that an event costs one allocation however
// many fields it has.
func copyValues(vs []pendingValue) {
	n := 0
	for _, v := range vs {
		n += len(v.val)
	}
	if n == 0 {
		return
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, v := range vs {
		sb.Write(v.val)
	}
	all := sb.String()
	for _, v := range vs {
		*v.dst, all = all[:len(v.val)], all[len(v.val):]
	}
}

// parseUnix parses a non-negative decimal number of seconds.
func parseUnix(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// xmlParser is a cursor over a message. Every method checks bounds before
// indexing. Error messages give offsets and known element names only,
// never content.
type xmlParser struct {
	s   []byte
	pos int
}

// child is one child element of <xml>, as returned by next.
type child struct {
	name   []byte
	val    []byte // the value, for simple content
	simple bool   // no element content
	start  int    // offset of the start tag
	done   bool   // </xml> was reached (the other fields are unset)
}

func (p *xmlParser) fail(what string) error { return p.failAt(p.pos, what) }

func (p *xmlParser) failAt(pos int, what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, pos)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// hasPrefix reports whether b starts with s, without allocating.
func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

// indexCDATAEnd returns the index of the first "]]>" in b, or -1. It is
// bytes.Index specialised for short CDATA sections, which it finds faster.
func indexCDATAEnd(b []byte) int {
	for off := 0; ; {
		i := bytes.IndexByte(b[off:], ']')
		if i < 0 {
			return -1
		}
		j := off + i
		if j+2 < len(b) && b[j+1] == ']' && b[j+2] == '>' {
			return j
		}
		off = j + 1
	}
}

var (
	commentEnd = []byte("-->")
	declEnd    = []byte("?>")
)

func (p *xmlParser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

// begin skips a UTF-8 BOM, an XML declaration, whitespace and comments,
// and reads the <xml> start tag.
func (p *xmlParser) begin() error {
	if hasPrefix(p.s, "\xef\xbb\xbf") {
		p.pos = 3
	}
	if rest := p.s[p.pos:]; hasPrefix(rest, "<?xml") && len(rest) > 5 && (isSpace(rest[5]) || rest[5] == '?') {
		end := bytes.Index(rest, declEnd)
		if end < 0 {
			return p.fail("unterminated XML declaration")
		}
		p.pos += end + 2
	}
	if err := p.skipMisc(); err != nil {
		return err
	}
	name, empty, err := p.openTag()
	if err != nil {
		return err
	}
	if string(name) != "xml" || empty {
		return p.fail("root element must be <xml>")
	}
	return nil
}

// next reads the next child of <xml> into c, or </xml> and the trailing
// whitespace and comments (then c.done is set).
func (p *xmlParser) next(c *child) error {
	*c = child{}
	if err := p.skipMisc(); err != nil {
		return err
	}
	if hasPrefix(p.s[p.pos:], "</") {
		if err := p.closeTag("xml"); err != nil {
			return err
		}
		if err := p.skipMisc(); err != nil {
			return err
		}
		if p.pos != len(p.s) {
			return p.fail("content after </xml>")
		}
		c.done = true
		return nil
	}
	if p.pos < len(p.s) && p.s[p.pos] != '<' {
		return p.fail("character data directly inside <xml>")
	}
	c.start = p.pos
	name, empty, err := p.openTag()
	if err != nil {
		return err
	}
	c.name, c.simple = name, true
	if !empty {
		if c.val, c.simple, err = p.content(name, 1); err != nil {
			return err
		}
	}
	return nil
}

// skipMisc skips whitespace and comments.
func (p *xmlParser) skipMisc() error {
	for {
		p.skipSpace()
		if !hasPrefix(p.s[p.pos:], "<!--") {
			return nil
		}
		if err := p.skipComment(); err != nil {
			return err
		}
	}
}

// skipComment skips a comment starting at p.pos.
func (p *xmlParser) skipComment() error {
	end := bytes.Index(p.s[p.pos+4:], commentEnd)
	if end < 0 {
		return p.fail("unterminated comment")
	}
	p.pos += 4 + end + 3
	return nil
}

// nameClass classifies bytes for element and attribute names: 1 for a
// byte that may start a name, 2 for one that may only continue it. Any
// non-ASCII byte is accepted (UTF-8 names are not validated further).
var nameClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', c == '_', c == ':', c >= 0x80:
			t[c] = 1
		case '0' <= c && c <= '9', c == '-', c == '.':
			t[c] = 2
		}
	}
	return t
}()

// name reads a name at p.pos.
func (p *xmlParser) name() ([]byte, error) {
	start := p.pos
	if p.pos >= len(p.s) || nameClass[p.s[p.pos]] != 1 {
		return nil, p.fail("expected a name")
	}
	p.pos++
	for p.pos < len(p.s) && nameClass[p.s[p.pos]] != 0 {
		p.pos++
	}
	return p.s[start:p.pos:p.pos], nil
}

// openTag reads a start tag "<name attr='v' …>" or an empty-element tag
// "<name …/>". Attributes are checked and ignored.
func (p *xmlParser) openTag() (name []byte, empty bool, err error) {
	if p.pos >= len(p.s) || p.s[p.pos] != '<' {
		return nil, false, p.fail("expected '<'")
	}
	p.pos++
	if name, err = p.name(); err != nil {
		return nil, false, err
	}
	for {
		sp := p.pos
		p.skipSpace()
		switch {
		case p.pos < len(p.s) && p.s[p.pos] == '>':
			p.pos++
			return name, false, nil
		case hasPrefix(p.s[p.pos:], "/>"):
			p.pos += 2
			return name, true, nil
		case p.pos == sp:
			return nil, false, p.fail("expected whitespace, '>' or '/>' in tag")
		}
		if _, err := p.name(); err != nil {
			return nil, false, err
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != '=' {
			return nil, false, p.fail("expected '=' after attribute name")
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.s) || (p.s[p.pos] != '"' && p.s[p.pos] != '\'') {
			return nil, false, p.fail("expected a quoted attribute value")
		}
		q := p.s[p.pos]
		end := bytes.IndexByte(p.s[p.pos+1:], q)
		if end < 0 {
			return nil, false, p.fail("unterminated attribute value")
		}
		if bytes.IndexByte(p.s[p.pos+1:p.pos+1+end], '<') >= 0 {
			return nil, false, p.fail("'<' in attribute value")
		}
		p.pos += 1 + end + 1
	}
}

// closeTag reads "</want>" or "</want >".
func (p *xmlParser) closeTag(want string) error {
	rest := p.s[p.pos:]
	// Fast path: "</want>".
	if n := 2 + len(want); len(rest) > n && rest[0] == '<' && rest[1] == '/' && string(rest[2:n]) == want && rest[n] == '>' {
		p.pos += n + 1
		return nil
	}
	if !hasPrefix(rest, "</") {
		return p.fail("expected a closing tag")
	}
	p.pos += 2
	got, err := p.name()
	if err != nil {
		return err
	}
	if string(got) != want {
		return p.fail("mismatched closing tag")
	}
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '>' {
		return p.fail("expected '>'")
	}
	p.pos++
	return nil
}

// content reads the content of element name, after its start tag, up to
// and including its end tag. For simple content (character data and CDATA
// only) it returns the value and simple == true; if the element contains
// child elements, these are checked recursively and skipped, and the value
// is meaningless. depth is the nesting depth of name (children of <xml>
// are at depth 1).
//
// The value is the concatenation of the character data (entities decoded)
// and CDATA sections, without the whitespace at either end that lies
// outside CDATA sections. The common case of a single CDATA section or a
// plain text returns a subslice of p.s without allocating.
func (p *xmlParser) content(name []byte, depth int) (val []byte, simple bool, err error) {
	if v, ok := p.simpleContent(name); ok {
		return v, true, nil
	}
	var v valueBuilder
	simple = true
	for {
		rest := p.s[p.pos:]
		var next byte // the byte after '<'
		if len(rest) > 1 {
			next = rest[1]
		}
		switch {
		case len(rest) == 0:
			return nil, false, p.fail("unterminated element")
		case rest[0] != '<':
			end := bytes.IndexByte(rest, '<')
			if end < 0 {
				return nil, false, p.fail("unterminated element")
			}
			text := rest[:end:end]
			if bytes.IndexByte(text, '&') >= 0 {
				if text, err = unescape(text); err != nil {
					return nil, false, p.fail(err.Error())
				}
			}
			v.text(text)
			p.pos += end
		case next == '!' && hasPrefix(rest, "<![CDATA["):
			end := indexCDATAEnd(rest[9:])
			if end < 0 {
				return nil, false, p.fail("unterminated CDATA section")
			}
			v.cdata(rest[9 : 9+end : 9+end])
			p.pos += 9 + end + 3
		case next == '/':
			if err := p.closeTag(string(name)); err != nil {
				return nil, false, err
			}
			return v.value(), simple, nil
		case next == '!' && hasPrefix(rest, "<!--"):
			if err := p.skipComment(); err != nil {
				return nil, false, err
			}
		case next == '!', next == '?':
			return nil, false, p.fail("unsupported markup declaration or processing instruction")
		default:
			if depth >= maxDepth {
				return nil, false, p.fail("elements nested too deeply")
			}
			simple = false
			child, empty, err := p.openTag()
			if err != nil {
				return nil, false, err
			}
			if !empty {
				if _, _, err := p.content(child, depth+1); err != nil {
					return nil, false, err
				}
			}
		}
	}
}

// simpleContent is the fast path of content for the usual shapes
// "<![CDATA[value]]></name>" and "value</name>" (no markup, no entities).
// It reports false, without moving, for anything else.
func (p *xmlParser) simpleContent(name []byte) ([]byte, bool) {
	rest := p.s[p.pos:]
	var (
		val []byte
		n   int // bytes before the end tag
	)
	if hasPrefix(rest, "<![CDATA[") {
		end := indexCDATAEnd(rest[9:])
		if end < 0 {
			return nil, false
		}
		val, n = rest[9:9+end:9+end], 9+end+3
	} else {
		end := bytes.IndexByte(rest, '<')
		if end < 0 {
			return nil, false
		}
		val, n = rest[:end:end], end
		if bytes.IndexByte(val, '&') >= 0 {
			return nil, false
		}
		val = trimRightSpace(trimLeftSpace(val))
	}
	// The end tag must follow at once: "</name>".
	tag := rest[n:]
	if m := 2 + len(name); len(tag) > m && tag[0] == '<' && tag[1] == '/' && bytes.Equal(tag[2:m], name) && tag[m] == '>' {
		p.pos += n + m + 1
		return val, true
	}
	return nil, false
}

// valueBuilder concatenates the pieces of an element's simple content,
// dropping the leading and trailing whitespace that comes from character
// data (not from CDATA sections). It allocates only for content made of
// several non-empty pieces.
type valueBuilder struct {
	first   []byte
	n       int // pieces emitted
	buf     []byte
	started bool   // something (even an empty CDATA section) was emitted
	pending []byte // whitespace that is kept only if more content follows
}

func (v *valueBuilder) emit(s []byte) {
	if len(s) == 0 {
		return
	}
	switch v.n {
	case 0:
		v.first = s
	case 1:
		v.buf = append(append(make([]byte, 0, len(v.first)+len(s)), v.first...), s...)
	default:
		v.buf = append(v.buf, s...)
	}
	v.n++
}

func (v *valueBuilder) text(t []byte) {
	if !v.started {
		t = trimLeftSpace(t)
		if len(t) == 0 {
			return
		}
	}
	core := trimRightSpace(t)
	if len(core) == 0 {
		// Copy: pending must not alias (and grow into) p.s.
		v.pending = append(v.pending[:len(v.pending):len(v.pending)], t...)
		return
	}
	v.emit(v.pending)
	v.emit(core)
	v.pending = t[len(core):]
	v.started = true
}

func (v *valueBuilder) cdata(c []byte) {
	v.emit(v.pending)
	v.emit(c)
	v.pending = nil
	v.started = true
}

func (v *valueBuilder) value() []byte {
	if v.n > 1 {
		return v.buf
	}
	return v.first
}

func trimLeftSpace(s []byte) []byte {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

func trimRightSpace(s []byte) []byte {
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// unescape decodes the predefined entities and numeric character
// references in s into a new slice. The error text does not quote s.
func unescape(s []byte) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for len(s) > 0 {
		i := bytes.IndexByte(s, '&')
		if i < 0 {
			b = append(b, s...)
			break
		}
		b = append(b, s[:i]...)
		s = s[i+1:]
		semi := bytes.IndexByte(s, ';')
		if semi < 0 {
			return nil, fmt.Errorf("unterminated entity reference")
		}
		ent := s[:semi]
		s = s[semi+1:]
		switch string(ent) {
		case "lt":
			b = append(b, '<')
		case "gt":
			b = append(b, '>')
		case "amp":
			b = append(b, '&')
		case "apos":
			b = append(b, '\'')
		case "quot":
			b = append(b, '"')
		default:
			r, ok := charRef(ent)
			if !ok {
				return nil, fmt.Errorf("unknown entity reference")
			}
			b = utf8.AppendRune(b, r)
		}
	}
	return b, nil
}

// charRef decodes the body of a numeric character reference: "#123" or
// "#x7B".
func charRef(ent []byte) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	digits, base := ent[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || digits[0] == '+' || digits[0] == '-' || len(digits) > 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil || n == 0 || n > utf8.MaxRune || !utf8.ValidRune(rune(n)) {
		return 0, false
	}
	return rune(n), true
}
