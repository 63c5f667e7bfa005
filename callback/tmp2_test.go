package callback

import "testing"

func BenchmarkSwitchOnly(b *testing.B) {
	names := [][]byte{[]byte("ToUserName"), []byte("CreateTime"), []byte("MsgType"), []byte("Event"), []byte("Token"), []byte("OpenKfId")}
	var ev Event
	var m Message
	n := 0
	for b.Loop() {
		for _, nm := range names {
			c := child{name: nm, val: nm, simple: true}
			_ = c
			switch string(nm) {
			case "ToUserName":
				n++
			case "FromUserName":
				n += 2
			case "CreateTime":
				n += 3
			case "MsgType":
				n += 4
			case "Event":
				n += 5
			case "AgentID":
				n += 6
			case "Token":
				n += 7
			case "OpenKfId":
				n += 8
			case "KfAccount", "FromKfAccount", "ToKfAccount", "MsgId", "Content", "PicUrl", "MediaId", "Format", "Recognition", "ThumbMediaId", "Location_X", "Location_Y", "Scale", "Label", "Title", "Description", "Url", "AuthAddOpenKfId", "AuthDelOpenKfId":
				n += 9
			}
		}
	}
	_, _ = ev, m
}

func BenchmarkNextOnly(b *testing.B) {
	in := []byte("<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token><OpenKfId><![CDATA[wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw]]></OpenKfId></xml>")
	cpu := startCPU(b)
	for b.Loop() {
		p := xmlParser{s: in}
		p.begin()
		for {
			c, err := p.next()
			if err != nil || c.done {
				break
			}
		}
	}
	cpu.report(b)
}
