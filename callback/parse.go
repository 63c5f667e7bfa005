package callback

import (
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

// parseEvent decodes a callback message with a small hand-written parser.
// The envelope is tiny and fixed, and encoding/xml would cost an order of
// magnitude more than the rest of the request.
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
// maxDepth, text directly inside <xml>, trailing content after </xml>, a
// known scalar element that is repeated or has element content, and a
// CreateTime that is not a decimal number. AuthAddOpenKfId and
// AuthDelOpenKfId may be repeated. It never panics.
//
// Strings in the returned Event share a single copy of raw; Raw is raw
// itself.
func parseEvent(raw []byte) (Event, error) {
	ev := Event{Raw: raw}
	p := xmlParser{s: string(raw)}
	if err := p.prolog(); err != nil {
		return Event{}, err
	}
	name, empty, err := p.openTag()
	if err != nil {
		return Event{}, err
	}
	if name != "xml" || empty {
		return Event{}, p.fail("root element must be <xml>")
	}
	var seen uint32
	for {
		if err := p.skipMisc(); err != nil {
			return Event{}, err
		}
		if strings.HasPrefix(p.s[p.pos:], "</") {
			if err := p.closeTag("xml"); err != nil {
				return Event{}, err
			}
			break
		}
		if p.pos < len(p.s) && p.s[p.pos] != '<' {
			return Event{}, p.fail("character data directly inside <xml>")
		}
		start := p.pos
		name, empty, err := p.openTag()
		if err != nil {
			return Event{}, err
		}
		var (
			val    string
			simple = true
		)
		if !empty {
			if val, simple, err = p.content(name, 1); err != nil {
				return Event{}, err
			}
		}
		var (
			dst *string
			bit uint32
		)
		m := &ev.x.msg
		switch name {
		case "ToUserName":
			dst, bit = &ev.ToUserName, 1<<0
		case "FromUserName":
			dst, bit = &ev.FromUserName, 1<<1
		case "CreateTime":
			bit = 1 << 2
		case "MsgType":
			dst, bit = &ev.MsgType, 1<<3
		case "Event":
			dst, bit = &ev.Event, 1<<4
		case "AgentID":
			dst, bit = &ev.AgentID, 1<<5
		case "Token":
			dst, bit = &ev.x.token, 1<<6
		case "OpenKfId":
			dst, bit = &ev.x.openKfID, 1<<7
		case "KfAccount":
			dst, bit = &ev.x.kfAccount, 1<<8
		case "FromKfAccount":
			dst, bit = &ev.x.fromKfAccount, 1<<9
		case "ToKfAccount":
			dst, bit = &ev.x.toKfAccount, 1<<10
		case "MsgId":
			dst, bit = &m.MsgID, 1<<11
		case "Content":
			dst, bit = &m.Content, 1<<12
		case "PicUrl":
			dst, bit = &m.PicURL, 1<<13
		case "MediaId":
			dst, bit = &m.MediaID, 1<<14
		case "Format":
			dst, bit = &m.Format, 1<<15
		case "Recognition":
			dst, bit = &m.Recognition, 1<<16
		case "ThumbMediaId":
			dst, bit = &m.ThumbMediaID, 1<<17
		case "Location_X":
			dst, bit = &m.LocationX, 1<<18
		case "Location_Y":
			dst, bit = &m.LocationY, 1<<19
		case "Scale":
			dst, bit = &m.Scale, 1<<20
		case "Label":
			dst, bit = &m.Label, 1<<21
		case "Title":
			dst, bit = &m.Title, 1<<22
		case "Description":
			dst, bit = &m.Description, 1<<23
		case "Url":
			dst, bit = &m.URL, 1<<24
		case "AuthAddOpenKfId", "AuthDelOpenKfId":
			if !simple {
				return Event{}, p.failAt(start, "element <"+name+"> must have simple content")
			}
			if name == "AuthAddOpenKfId" {
				ev.x.authAdd = append(ev.x.authAdd, val)
			} else {
				ev.x.authDel = append(ev.x.authDel, val)
			}
			continue
		default:
			continue // unknown element: skipped
		}
		if seen&bit != 0 {
			return Event{}, p.failAt(start, "repeated <"+name+"> element")
		}
		seen |= bit
		if !simple {
			return Event{}, p.failAt(start, "element <"+name+"> must have simple content")
		}
		if dst != nil {
			*dst = val
			continue
		}
		// CreateTime.
		n, ok := parseUnix(val)
		if !ok {
			return Event{}, p.failAt(start, "<CreateTime> is not a decimal number")
		}
		ev.CreateTime = time.Unix(n, 0)
	}
	if err := p.skipMisc(); err != nil {
		return Event{}, err
	}
	if p.pos != len(p.s) {
		return Event{}, p.fail("content after </xml>")
	}
	return ev, nil
}

// parseUnix parses a non-negative decimal number of seconds.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
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
	s   string
	pos int
}

func (p *xmlParser) fail(what string) error { return p.failAt(p.pos, what) }

func (p *xmlParser) failAt(pos int, what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, pos)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *xmlParser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

// prolog skips a UTF-8 BOM, an XML declaration, whitespace and comments.
func (p *xmlParser) prolog() error {
	if strings.HasPrefix(p.s, "\xef\xbb\xbf") {
		p.pos = 3
	}
	if rest := p.s[p.pos:]; strings.HasPrefix(rest, "<?xml") && len(rest) > 5 && (isSpace(rest[5]) || rest[5] == '?') {
		end := strings.Index(rest, "?>")
		if end < 0 {
			return p.fail("unterminated XML declaration")
		}
		p.pos += end + 2
	}
	return p.skipMisc()
}

// skipMisc skips whitespace and comments.
func (p *xmlParser) skipMisc() error {
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.s[p.pos:], "<!--") {
			return nil
		}
		if err := p.skipComment(); err != nil {
			return err
		}
	}
}

// skipComment skips a comment starting at p.pos.
func (p *xmlParser) skipComment() error {
	end := strings.Index(p.s[p.pos+4:], "-->")
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
func (p *xmlParser) name() (string, error) {
	start := p.pos
	if p.pos >= len(p.s) || nameClass[p.s[p.pos]] != 1 {
		return "", p.fail("expected a name")
	}
	p.pos++
	for p.pos < len(p.s) && nameClass[p.s[p.pos]] != 0 {
		p.pos++
	}
	return p.s[start:p.pos], nil
}

// openTag reads a start tag "<name attr='v' …>" or an empty-element tag
// "<name …/>". Attributes are checked and ignored.
func (p *xmlParser) openTag() (name string, empty bool, err error) {
	if p.pos >= len(p.s) || p.s[p.pos] != '<' {
		return "", false, p.fail("expected '<'")
	}
	p.pos++
	if name, err = p.name(); err != nil {
		return "", false, err
	}
	for {
		sp := p.pos
		p.skipSpace()
		rest := p.s[p.pos:]
		switch {
		case strings.HasPrefix(rest, ">"):
			p.pos++
			return name, false, nil
		case strings.HasPrefix(rest, "/>"):
			p.pos += 2
			return name, true, nil
		case p.pos == sp:
			return "", false, p.fail("expected whitespace, '>' or '/>' in tag")
		}
		if _, err := p.name(); err != nil {
			return "", false, err
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != '=' {
			return "", false, p.fail("expected '=' after attribute name")
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.s) || (p.s[p.pos] != '"' && p.s[p.pos] != '\'') {
			return "", false, p.fail("expected a quoted attribute value")
		}
		q := p.s[p.pos]
		end := strings.IndexByte(p.s[p.pos+1:], q)
		if end < 0 {
			return "", false, p.fail("unterminated attribute value")
		}
		if strings.IndexByte(p.s[p.pos+1:p.pos+1+end], '<') >= 0 {
			return "", false, p.fail("'<' in attribute value")
		}
		p.pos += 1 + end + 1
	}
}

// closeTag reads "</want>" or "</want >".
func (p *xmlParser) closeTag(want string) error {
	rest := p.s[p.pos:]
	// Fast path: "</want>".
	if n := 2 + len(want); len(rest) > n && rest[0] == '<' && rest[1] == '/' && rest[2:n] == want && rest[n] == '>' {
		p.pos += n + 1
		return nil
	}
	if !strings.HasPrefix(rest, "</") {
		return p.fail("expected a closing tag")
	}
	p.pos += 2
	got, err := p.name()
	if err != nil {
		return err
	}
	if got != want {
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
// plain text returns a substring of p.s without allocating.
func (p *xmlParser) content(name string, depth int) (val string, simple bool, err error) {
	var v valueBuilder
	simple = true
	for {
		rest := p.s[p.pos:]
		var next byte // the byte after '<'
		if len(rest) > 1 {
			next = rest[1]
		}
		switch {
		case rest == "":
			return "", false, p.fail("unterminated element")
		case rest[0] != '<':
			end := strings.IndexByte(rest, '<')
			if end < 0 {
				return "", false, p.fail("unterminated element")
			}
			text := rest[:end]
			if strings.IndexByte(text, '&') >= 0 {
				if text, err = unescape(text); err != nil {
					return "", false, p.fail(err.Error())
				}
			}
			v.text(text)
			p.pos += end
		case next == '!' && strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest[9:], "]]>")
			if end < 0 {
				return "", false, p.fail("unterminated CDATA section")
			}
			v.cdata(rest[9 : 9+end])
			p.pos += 9 + end + 3
		case next == '/':
			if err := p.closeTag(name); err != nil {
				return "", false, err
			}
			return v.value(), simple, nil
		case next == '!' && strings.HasPrefix(rest, "<!--"):
			if err := p.skipComment(); err != nil {
				return "", false, err
			}
		case next == '!', next == '?':
			return "", false, p.fail("unsupported markup declaration or processing instruction")
		default:
			if depth >= maxDepth {
				return "", false, p.fail("elements nested too deeply")
			}
			simple = false
			child, empty, err := p.openTag()
			if err != nil {
				return "", false, err
			}
			if !empty {
				if _, _, err := p.content(child, depth+1); err != nil {
					return "", false, err
				}
			}
		}
	}
}

// valueBuilder concatenates the pieces of an element's simple content,
// dropping the leading and trailing whitespace that comes from character
// data (not from CDATA sections). It allocates only for content made of
// several non-empty pieces.
type valueBuilder struct {
	first   string
	n       int // pieces emitted
	sb      strings.Builder
	started bool   // something (even an empty CDATA section) was emitted
	pending string // whitespace that is kept only if more content follows
}

func (v *valueBuilder) emit(s string) {
	if s == "" {
		return
	}
	switch v.n {
	case 0:
		v.first = s
	case 1:
		v.sb.WriteString(v.first)
		v.sb.WriteString(s)
	default:
		v.sb.WriteString(s)
	}
	v.n++
}

func (v *valueBuilder) text(t string) {
	if !v.started {
		t = trimLeftSpace(t)
		if t == "" {
			return
		}
	}
	core := trimRightSpace(t)
	if core == "" {
		v.pending += t
		return
	}
	v.emit(v.pending)
	v.emit(core)
	v.pending = t[len(core):]
	v.started = true
}

func (v *valueBuilder) cdata(c string) {
	v.emit(v.pending)
	v.emit(c)
	v.pending = ""
	v.started = true
}

func (v *valueBuilder) value() string {
	if v.n > 1 {
		return v.sb.String()
	}
	return v.first
}

func trimLeftSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

func trimRightSpace(s string) string {
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// unescape decodes the predefined entities and numeric character
// references in s. The error text does not quote s.
func unescape(s string) (string, error) {
	b := make([]byte, 0, len(s))
	for len(s) > 0 {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b = append(b, s...)
			break
		}
		b = append(b, s[:i]...)
		s = s[i+1:]
		semi := strings.IndexByte(s, ';')
		if semi < 0 {
			return "", fmt.Errorf("unterminated entity reference")
		}
		ent := s[:semi]
		s = s[semi+1:]
		switch ent {
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
				return "", fmt.Errorf("unknown entity reference")
			}
			b = utf8.AppendRune(b, r)
		}
	}
	return string(b), nil
}

// charRef decodes the body of a numeric character reference: "#123" or
// "#x7B".
func charRef(ent string) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	digits, base := ent[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil || n == 0 || n > utf8.MaxRune || !utf8.ValidRune(rune(n)) {
		return 0, false
	}
	return rune(n), true
}
