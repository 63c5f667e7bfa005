package callback

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// TransferCustomerService builds the Official Account passive reply that
// hands the user's current message (and the conversation) to the customer
// service system (多客服): <MsgType>transfer_customer_service</MsgType>
// addressed back to the user (ev.FromUserName) from the account
// (ev.ToUserName). With a non-empty kfAccount the reply carries
// <TransInfo><KfAccount> and the user is assigned to that worker even if the
// worker cannot accept (check getonlinekflist first); without it the user
// waits in the queue. Return it from Config.Reply; the handler encrypts it
// in safe mode. Only user messages, not events, should be transferred.
func TransferCustomerService(ev Event, kfAccount string, now time.Time) []byte {
	var b bytes.Buffer
	b.WriteString("<xml><ToUserName><![CDATA[")
	b.WriteString(cdata(ev.FromUserName))
	b.WriteString("]]></ToUserName><FromUserName><![CDATA[")
	b.WriteString(cdata(ev.ToUserName))
	b.WriteString("]]></FromUserName><CreateTime>")
	b.WriteString(strconv.FormatInt(now.Unix(), 10))
	b.WriteString("</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType>")
	if kfAccount != "" {
		b.WriteString("<TransInfo><KfAccount><![CDATA[")
		b.WriteString(cdata(kfAccount))
		b.WriteString("]]></KfAccount></TransInfo>")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// cdata makes s safe inside a CDATA section.
func cdata(s string) string {
	return strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>")
}
