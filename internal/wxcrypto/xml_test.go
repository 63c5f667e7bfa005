package wxcrypto

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEncryptedPostBody(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff(postBody, string(EncryptedPostBody(officialCorpID, "218", postEncrypt))); diff != "" {
		t.Errorf("with AgentID (-want +got):\n%s", diff)
	}
	want := "<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt></xml>"
	if diff := cmp.Diff(want, string(EncryptedPostBody("ww1", "", "abc="))); diff != "" {
		t.Errorf("without AgentID (-want +got):\n%s", diff)
	}
	// A value containing "]]>" is split across CDATA sections and still
	// parses (also with encoding/xml) to the original value.
	body := EncryptedPostBody("a]]>b", "]]>", "x]]]]>y")
	to, enc, agent, err := ParseEncryptedPostBody(body)
	if err != nil || to != "a]]>b" || enc != "x]]]]>y" || agent != "]]>" {
		t.Errorf("parse of split CDATA = (%q, %q, %q, %v)", to, enc, agent, err)
	}
	var std struct {
		ToUserName, Encrypt, AgentID string
	}
	if err := xml.Unmarshal(body, &std); err != nil || std.ToUserName != "a]]>b" || std.Encrypt != "x]]]]>y" || std.AgentID != "]]>" {
		t.Errorf("encoding/xml parse = %+v, %v", std, err)
	}
}

func TestBuildEncryptedXML(t *testing.T) {
	t.Parallel()
	got := string(BuildEncryptedXML(officialToken, postEncrypt, postTimestamp, postNonce))
	want := "<xml><Encrypt><![CDATA[" + postEncrypt + "]]></Encrypt>" +
		"<MsgSignature><![CDATA[" + postSignature + "]]></MsgSignature>" +
		"<TimeStamp>" + postTimestamp + "</TimeStamp>" +
		"<Nonce><![CDATA[" + postNonce + "]]></Nonce></xml>"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BuildEncryptedXML mismatch (-want +got):\n%s", diff)
	}

	// Odd values remain well-formed XML and round-trip.
	ts, nonce := "1<2&3>", "n]]>once"
	var reply struct {
		Encrypt, MsgSignature, TimeStamp, Nonce string
	}
	if err := xml.Unmarshal(BuildEncryptedXML("tok", "enc", ts, nonce), &reply); err != nil {
		t.Fatalf("reply is not well-formed: %v", err)
	}
	if reply.Encrypt != "enc" || reply.TimeStamp != ts || reply.Nonce != nonce {
		t.Errorf("reply = %+v", reply)
	}
	if !VerifySignature("tok", reply.TimeStamp, reply.Nonce, reply.Encrypt, reply.MsgSignature) {
		t.Error("reply signature does not verify")
	}
}

func TestParseEncryptedPostBody(t *testing.T) {
	t.Parallel()
	type result struct{ To, Encrypt, Agent string }
	for _, tc := range []struct {
		name, body string
		want       result
	}{
		{"official", postBody, result{officialCorpID, postEncrypt, "218"}},
		{"go-workwx", gw2Body, result{gwReceiveID, gw2Encrypt, "1000002"}},
		{"no AgentID", "<xml><ToUserName><![CDATA[ww]]></ToUserName><Encrypt><![CDATA[e]]></Encrypt></xml>", result{"ww", "e", ""}},
		{"only Encrypt", "<xml><Encrypt><![CDATA[e]]></Encrypt></xml>", result{"", "e", ""}},
		{"any order", "<xml><AgentID><![CDATA[1]]></AgentID><Encrypt><![CDATA[e]]></Encrypt><ToUserName><![CDATA[ww]]></ToUserName></xml>", result{"ww", "e", "1"}},
		{"plain text", "<xml><ToUserName>ww</ToUserName><Encrypt>ab+/cd==</Encrypt><AgentID>1000002</AgentID></xml>", result{"ww", "ab+/cd==", "1000002"}},
		{"whitespace and newlines", "\r\n  <xml>\n\t<ToUserName><![CDATA[ww]]></ToUserName>\n\t<Encrypt>\n<![CDATA[e]]>\n</Encrypt>\n\t<AgentID> 7 </AgentID>\n</xml>\n\n", result{"ww", "e", "7"}},
		{"declaration and BOM", "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml><Encrypt><![CDATA[e]]></Encrypt></xml>", result{"", "e", ""}},
		{"comments", "<!-- a --><xml><!-- b --><Encrypt><![CDATA[e]]></Encrypt><!----></xml><!-- c -->", result{"", "e", ""}},
		{"self-closing AgentID", "<xml><Encrypt><![CDATA[e]]></Encrypt><AgentID/></xml>", result{"", "e", ""}},
		{"space before >", "<xml ><Encrypt ><![CDATA[e]]></Encrypt ><AgentID /></xml >", result{"", "e", ""}},
		{"entities", "<xml><ToUserName>a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;&#x4e2d;</ToUserName><Encrypt>e</Encrypt></xml>", result{"a&b<>\"'AB中", "e", ""}},
		{"split CDATA", "<xml><Encrypt><![CDATA[ab]]><![CDATA[cd]]>ef</Encrypt></xml>", result{"", "abcdef", ""}},
		{"empty CDATA then text", "<xml><Encrypt><![CDATA[]]>e</Encrypt></xml>", result{"", "e", ""}},
		{"CDATA with markup", "<xml><ToUserName><![CDATA[<a>&amp;</a>]]></ToUserName><Encrypt>e</Encrypt></xml>", result{"<a>&amp;</a>", "e", ""}},
		{"unknown elements skipped", "<xml><ToUserName>ww</ToUserName><Foo>bar</Foo><Empty/><Encrypt>e</Encrypt><Bar><![CDATA[x]]></Bar></xml>", result{"ww", "e", ""}},
		{"empty ToUserName", "<xml><ToUserName></ToUserName><Encrypt>e</Encrypt></xml>", result{"", "e", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			to, enc, agent, err := ParseEncryptedPostBody([]byte(tc.body))
			if err != nil {
				t.Fatalf("ParseEncryptedPostBody: %v", err)
			}
			if diff := cmp.Diff(tc.want, result{to, enc, agent}); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEncryptedPostBodyInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, body string }{
		{"empty", ""},
		{"whitespace", "  \n"},
		{"not xml", "hello"},
		{"json", `{"Encrypt":"e"}`},
		{"wrong root", "<root><Encrypt>e</Encrypt></root>"},
		{"self-closing root", "<xml/>"},
		{"missing Encrypt", "<xml><ToUserName>ww</ToUserName></xml>"},
		{"empty Encrypt", "<xml><Encrypt><![CDATA[]]></Encrypt></xml>"},
		{"blank Encrypt", "<xml><Encrypt>  </Encrypt></xml>"},
		{"self-closing Encrypt", "<xml><Encrypt/></xml>"},
		{"duplicate Encrypt", "<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>"},
		{"duplicate ToUserName", "<xml><ToUserName>a</ToUserName><Encrypt>e</Encrypt><ToUserName>b</ToUserName></xml>"},
		{"duplicate AgentID", "<xml><AgentID/><Encrypt>e</Encrypt><AgentID>1</AgentID></xml>"},
		{"unclosed root", "<xml><Encrypt>e</Encrypt>"},
		{"unclosed element", "<xml><Encrypt>e</xml>"},
		{"mismatched close", "<xml><Encrypt>e</Encrypted></xml>"},
		{"close prefix", "<xml><Encrypt>e</Encryp></xml>"},
		{"nested element", "<xml><Encrypt><b>e</b></Encrypt></xml>"},
		{"nested in unknown", "<xml><Foo><Bar/></Foo><Encrypt>e</Encrypt></xml>"},
		{"attribute", `<xml><Encrypt a="1">e</Encrypt></xml>`},
		{"root attribute", `<xml id="1"><Encrypt>e</Encrypt></xml>`},
		{"unterminated CDATA", "<xml><Encrypt><![CDATA[e</Encrypt></xml>"},
		{"unterminated CDATA at end", "<xml><Encrypt><![CDATA["},
		{"text between elements", "<xml>junk<Encrypt>e</Encrypt></xml>"},
		{"trailing content", "<xml><Encrypt>e</Encrypt></xml><xml/>"},
		{"trailing text", "<xml><Encrypt>e</Encrypt></xml>x"},
		{"unknown entity", "<xml><Encrypt>a&nbsp;b</Encrypt></xml>"},
		{"unterminated entity", "<xml><Encrypt>a&amp</Encrypt></xml>"},
		{"bad char ref", "<xml><Encrypt>&#xZZ;</Encrypt></xml>"},
		{"NUL char ref", "<xml><Encrypt>&#0;</Encrypt></xml>"},
		{"surrogate char ref", "<xml><Encrypt>&#xD800;</Encrypt></xml>"},
		{"huge char ref", "<xml><Encrypt>&#99999999999;</Encrypt></xml>"},
		{"signed char ref", "<xml><Encrypt>&#+65;</Encrypt></xml>"},
		{"unterminated comment", "<xml><!-- <Encrypt>e</Encrypt></xml>"},
		{"comment in content", "<xml><Encrypt>e<!-- x --></Encrypt></xml>"},
		{"unterminated declaration", "<?xml version='1.0'<xml><Encrypt>e</Encrypt></xml>"},
		{"processing instruction inside", "<xml><?pi?><Encrypt>e</Encrypt></xml>"},
		{"bad element name", "<xml><1Encrypt>e</1Encrypt></xml>"},
		{"lone <", "<"},
		{"lone </", "<xml></"},
		{"close without >", "<xml><Encrypt>e</Encrypt"},
		{"open without >", "<xml><Encrypt"},
		{"doctype", "<!DOCTYPE xml><xml><Encrypt>e</Encrypt></xml>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			to, enc, agent, err := ParseEncryptedPostBody([]byte(tc.body))
			if !errors.Is(err, ErrMalformedXML) {
				t.Fatalf("ParseEncryptedPostBody = (%q, %q, %q, %v), want ErrMalformedXML", to, enc, agent, err)
			}
			if to != "" || enc != "" || agent != "" {
				t.Errorf("values returned with an error")
			}
			if code, _ := CodeOf(err); code != CodeParseXML {
				t.Errorf("CodeOf = %v", code)
			}
			if len(tc.body) > 0 && strings.Contains(err.Error(), tc.body) {
				t.Errorf("error %q quotes the body", err)
			}
		})
	}
}

func TestParseEncryptedPostBodyAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	body := []byte(postBody)
	if n := testing.AllocsPerRun(100, func() {
		if _, _, _, err := ParseEncryptedPostBody(body); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("ParseEncryptedPostBody allocates %v times, want ≤ 1", n)
	}
}

func TestXMLWriter(t *testing.T) {
	x := NewXMLWriter()
	x.CDATA("Content", "a]]>b")
	x.Text("CreateTime", "123<")
	x.Raw("<TransInfo>")
	x.CDATA("KfAccount", "k@w")
	x.Raw("</TransInfo>")
	want := "<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content><CreateTime>123&lt;</CreateTime><TransInfo><KfAccount><![CDATA[k@w]]></KfAccount></TransInfo></xml>"
	if got := string(x.Done()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
