package callback

import (
	"strconv"
	"time"

	"github.com/wxkf/kf/internal/wxcrypto"
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
	x := wxcrypto.NewXMLWriter()
	x.CDATA("ToUserName", ev.FromUserName)
	x.CDATA("FromUserName", ev.ToUserName)
	x.Text("CreateTime", strconv.FormatInt(now.Unix(), 10))
	x.CDATA("MsgType", "transfer_customer_service")
	if kfAccount != "" {
		x.Raw("<TransInfo>")
		x.CDATA("KfAccount", kfAccount)
		x.Raw("</TransInfo>")
	}
	return x.Done()
}
