package wxcrypto

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EncryptedPostBody returns the outer XML body of an encrypted callback POST:
//
//	<xml><ToUserName><![CDATA[toUserName]]></ToUserName><Encrypt><![CDATA[encrypt]]></Encrypt><AgentID><![CDATA[agentID]]></AgentID></xml>
//
// The AgentID element is omitted when agentID is empty. Values are written
// as CDATA sections; a "]]>" inside a value is split across two sections, so
// any string round-trips through [ParseEncryptedPostBody] (apart from
// leading and trailing whitespace, which the parser trims).
func EncryptedPostBody(toUserName, agentID, encrypt string) []byte {
	b := make([]byte, 0, 96+len(toUserName)+len(encrypt)+len(agentID))
	b = append(b, "<xml><ToUserName>"...)
	b = appendCDATA(b, toUserName)
	b = append(b, "</ToUserName><Encrypt>"...)
	b = appendCDATA(b, encrypt)
	b = append(b, "</Encrypt>"...)
	if agentID != "" {
		b = append(b, "<AgentID>"...)
		b = appendCDATA(b, agentID)
		b = append(b, "</AgentID>"...)
	}
	return append(b, "</xml>"...)
}

// BuildEncryptedXML returns the passive-reply envelope for an encrypted
// reply, signing encrypt with token, timestamp and nonce:
//
//	<xml><Encrypt><![CDATA[encrypt]]></Encrypt><MsgSignature><![CDATA[sig]]></MsgSignature><TimeStamp>timestamp</TimeStamp><Nonce><![CDATA[nonce]]></Nonce></xml>
//
// KF callbacks do not use passive replies; Official Account and app
// callbacks do. The timestamp is written as escaped text.
func BuildEncryptedXML(token, encrypt, timestamp, nonce string) []byte {
	sig := signatureHex(token, timestamp, nonce, encrypt)
	b := make([]byte, 0, 160+len(encrypt)+len(timestamp)+len(nonce))
	b = append(b, "<xml><Encrypt>"...)
	b = appendCDATA(b, encrypt)
	b = append(b, "</Encrypt><MsgSignature><![CDATA["...)
	b = append(b, sig[:]...)
	b = append(b, "]]></MsgSignature><TimeStamp>"...)
	b = appendEscaped(b, timestamp)
	b = append(b, "</TimeStamp><Nonce>"...)
	b = appendCDATA(b, nonce)
	return append(b, "</Nonce></xml>"...)
}

// appendCDATA appends s as one or more CDATA sections.
func appendCDATA(b []byte, s string) []byte {
	b = append(b, "<![CDATA["...)
	for {
		i := strings.Index(s, "]]>")
		if i < 0 {
			break
		}
		// Close the section between "]]" and ">".
		b = append(b, s[:i+2]...)
		b = append(b, "]]><![CDATA["...)
		s = s[i+2:]
	}
	b = append(b, s...)
	return append(b, "]]>"...)
}

// appendEscaped appends s as XML character data.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// ParseEncryptedPostBody extracts ToUserName, Encrypt and AgentID from the
// outer XML body of an encrypted callback POST (see [EncryptedPostBody]).
// It is a small hand-written parser that does not use encoding/xml.
//
// It accepts an optional UTF-8 BOM and XML declaration, comments and
// whitespace between elements, child elements of <xml> in any order,
// element content made of CDATA sections and/or character data (with the
// five predefined entities and numeric character references decoded), and
// empty elements such as <AgentID/>. Unknown child elements with simple
// content are skipped. Values are trimmed of leading and trailing XML
// whitespace. Missing ToUserName or AgentID yield "".
//
// It fails with an error wrapping [ErrMalformedXML] on anything else:
// nested or unterminated elements, attributes, mismatched tags, a repeated
// ToUserName, Encrypt or AgentID, trailing content, or a missing or empty
// Encrypt. It never panics. The returned strings share one copy of body.
func ParseEncryptedPostBody(body []byte) (toUserName, encrypt, agentID string, err error) {
	p := xmlParser{s: string(body)}
	var seenTo, seenEnc, seenAgent bool
	p.s = strings.TrimPrefix(p.s, "\xef\xbb\xbf")
	if strings.HasPrefix(p.s, "<?xml") {
		end := strings.Index(p.s, "?>")
		if end < 0 {
			return "", "", "", p.fail("unterminated XML declaration")
		}
		p.pos = end + 2
	}
	if err := p.skipMisc(); err != nil {
		return "", "", "", err
	}
	name, empty, err := p.openTag()
	if err != nil {
		return "", "", "", err
	}
	if name != "xml" || empty {
		return "", "", "", p.fail("root element must be <xml>")
	}
	for {
		if err := p.skipMisc(); err != nil {
			return "", "", "", err
		}
		if strings.HasPrefix(p.s[p.pos:], "</") {
			if err := p.closeTag("xml"); err != nil {
				return "", "", "", err
			}
			break
		}
		name, empty, err := p.openTag()
		if err != nil {
			return "", "", "", err
		}
		var val string
		if !empty {
			if val, err = p.content(); err != nil {
				return "", "", "", err
			}
			if err := p.closeTag(name); err != nil {
				return "", "", "", err
			}
		}
		var seen *bool
		switch name {
		case "ToUserName":
			seen, toUserName = &seenTo, val
		case "Encrypt":
			seen, encrypt = &seenEnc, val
		case "AgentID":
			seen, agentID = &seenAgent, val
		default:
			continue
		}
		if *seen {
			return "", "", "", p.fail("repeated <" + name + "> element")
		}
		*seen = true
	}
	if err := p.skipMisc(); err != nil {
		return "", "", "", err
	}
	if p.pos != len(p.s) {
		return "", "", "", p.fail("content after </xml>")
	}
	if encrypt == "" {
		return "", "", "", fmt.Errorf("%w: missing or empty <Encrypt> element", ErrMalformedXML)
	}
	return toUserName, encrypt, agentID, nil
}

// xmlParser is a cursor over the envelope. Every method checks bounds
// before indexing.
type xmlParser struct {
	s   string
	pos int
}

func (p *xmlParser) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformedXML, what, p.pos)
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimXMLSpace(s string) string {
	for len(s) > 0 && isXMLSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isXMLSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// skipMisc skips whitespace and comments.
func (p *xmlParser) skipMisc() error {
	for {
		for p.pos < len(p.s) && isXMLSpace(p.s[p.pos]) {
			p.pos++
		}
		if !strings.HasPrefix(p.s[p.pos:], "<!--") {
			return nil
		}
		end := strings.Index(p.s[p.pos+4:], "-->")
		if end < 0 {
			return p.fail("unterminated comment")
		}
		p.pos += 4 + end + 3
	}
}

func isNameStart(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_'
}

func isNameChar(c byte) bool {
	return isNameStart(c) || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':'
}

// name reads an element name at p.pos.
func (p *xmlParser) name() (string, error) {
	start := p.pos
	if p.pos >= len(p.s) || !isNameStart(p.s[p.pos]) {
		return "", p.fail("expected an element name")
	}
	for p.pos < len(p.s) && isNameChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos], nil
}

// openTag reads "<name>", "<name >" or "<name/>".
func (p *xmlParser) openTag() (name string, empty bool, err error) {
	if p.pos >= len(p.s) || p.s[p.pos] != '<' {
		return "", false, p.fail("expected '<'")
	}
	p.pos++
	if name, err = p.name(); err != nil {
		return "", false, err
	}
	for p.pos < len(p.s) && isXMLSpace(p.s[p.pos]) {
		p.pos++
	}
	switch {
	case strings.HasPrefix(p.s[p.pos:], ">"):
		p.pos++
		return name, false, nil
	case strings.HasPrefix(p.s[p.pos:], "/>"):
		p.pos += 2
		return name, true, nil
	}
	return "", false, p.fail("expected '>' (attributes are not supported)")
}

// closeTag reads "</name>" or "</name >".
func (p *xmlParser) closeTag(want string) error {
	if !strings.HasPrefix(p.s[p.pos:], "</") {
		return p.fail("expected '</" + want + ">'")
	}
	p.pos += 2
	got, err := p.name()
	if err != nil {
		return err
	}
	if got != want {
		return p.fail("mismatched closing tag")
	}
	for p.pos < len(p.s) && isXMLSpace(p.s[p.pos]) {
		p.pos++
	}
	if p.pos >= len(p.s) || p.s[p.pos] != '>' {
		return p.fail("expected '>'")
	}
	p.pos++
	return nil
}

// content reads simple element content (character data and CDATA
// sections) up to, not including, the closing tag, and returns it trimmed.
// The common case of a single CDATA section or entity-free text returns a
// substring of p.s without allocating.
func (p *xmlParser) content() (string, error) {
	var (
		first string
		multi bool
		sb    strings.Builder
	)
	add := func(seg string) {
		switch {
		case multi:
			sb.WriteString(seg)
		case first == "":
			first = seg
		default:
			multi = true
			sb.WriteString(first)
			sb.WriteString(seg)
		}
	}
	for {
		rest := p.s[p.pos:]
		switch {
		case rest == "":
			return "", p.fail("unterminated element")
		case strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest[9:], "]]>")
			if end < 0 {
				return "", p.fail("unterminated CDATA section")
			}
			add(rest[9 : 9+end])
			p.pos += 9 + end + 3
		case strings.HasPrefix(rest, "</"):
			if multi {
				return trimXMLSpace(sb.String()), nil
			}
			return trimXMLSpace(first), nil
		case rest[0] == '<':
			return "", p.fail("nested elements are not supported")
		default:
			end := strings.IndexByte(rest, '<')
			if end < 0 {
				return "", p.fail("unterminated element")
			}
			text := rest[:end]
			if strings.IndexByte(text, '&') >= 0 {
				var err error
				if text, err = unescape(text); err != nil {
					return "", p.fail(err.Error())
				}
			}
			add(text)
			p.pos += end
		}
	}
}

// unescape decodes the predefined entities and numeric character
// references in s. The returned error text does not quote s.
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

// XMLWriter writes a flat callback or reply message:
// <xml><Name><![CDATA[value]]></Name><Other>123</Other>…</xml>. It is the
// one writer shared by the callback builders, the passive replies and the
// emulator's pushes.
type XMLWriter struct{ b []byte }

// NewXMLWriter starts a message.
func NewXMLWriter() *XMLWriter { return &XMLWriter{b: append(make([]byte, 0, 256), "<xml>"...)} }

// CDATA appends the element name with v as CDATA (a "]]>" in v is split
// across two sections).
func (x *XMLWriter) CDATA(name, v string) {
	x.b = append(append(append(x.b, '<'), name...), '>')
	x.b = appendCDATA(x.b, v)
	x.b = append(append(append(x.b, "</"...), name...), '>')
}

// Text appends the element name with v escaped as character data (numbers,
// mostly).
func (x *XMLWriter) Text(name, v string) {
	x.b = append(append(append(x.b, '<'), name...), '>')
	x.b = appendEscaped(x.b, v)
	x.b = append(append(append(x.b, "</"...), name...), '>')
}

// Raw appends already-formed XML (a nested element).
func (x *XMLWriter) Raw(xml string) { x.b = append(x.b, xml...) }

// Done closes the message and returns it.
func (x *XMLWriter) Done() []byte { return append(x.b, "</xml>"...) }
