package kf

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
)

// genPageMessages is the size of the generated benchmark page.
const genPageMessages = 1000

// genSyncPage returns a deterministic sync_msg reply of n mixed messages:
// 60 % text, 10 % image, 10 % enter_session, 5 % session_status_change and
// 15 % spread over every other msgtype and event type (plus an unknown
// msgtype and an unknown event type). Texts mix Chinese and ASCII; about one
// in eight holds characters that JSON escapes (newline, quote, tab).
func genSyncPage(n int) []byte {
	r := rand.New(rand.NewPCG(20240601, 94670))
	var b strings.Builder
	b.Grow(n * 330)
	b.WriteString(`{"errcode":0,"errmsg":"ok","next_cursor":"4gw7MepFLfgF2VC5npN","has_more":1,"msg_list":[`)
	kfid := "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw"
	customers := make([]string, 40)
	for i := range customers {
		customers[i] = "wmAJ2GCAAA" + genID(r, 22)
	}
	servicers := []string{"zhangsan", "lisi", "wangwu", "LiLei", "HanMeimei"}
	others := []string{
		"voice", "video", "file", "location", "link", "business_card", "miniprogram",
		"msgmenu", "channels_shop_product", "channels_shop_order", "merged_msg", "channels",
		"meeting", "schedule", "note", "ev:msg_send_fail", "ev:servicer_status_change",
		"ev:user_recall_msg", "ev:servicer_recall_msg", "ev:reject_customer_msg_switch_change",
		"ev:unknown", "unknown",
	}
	nOther := 0
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		kind := "text"
		switch k := i % 20; {
		case k < 12:
		case k < 14:
			kind = "image"
		case k < 16:
			kind = "ev:enter_session"
		case k < 17:
			kind = "ev:session_status_change"
		default:
			kind = others[nOther%len(others)]
			nOther++
		}
		cust := customers[r.IntN(len(customers))]
		sendTime := 1717200000 + i*3
		msgid := "from_msgid_" + strconv.FormatUint(r.Uint64()>>1, 10)
		if ev, ok := strings.CutPrefix(kind, "ev:"); ok {
			b.WriteString(`{"msgid":` + genQuote(msgid) + `,"send_time":` + strconv.Itoa(sendTime) + `,"origin":4,"msgtype":"event","event":{"event_type":`)
			srv := servicers[r.IntN(len(servicers))]
			switch ev {
			case "enter_session":
				b.WriteString(`"enter_session","open_kfid":` + genQuote(kfid) + `,"external_userid":` + genQuote(cust) + `,"scene":"promo_` + strconv.Itoa(r.IntN(9)) + `","scene_param":"utm%3Dwx%26id%3D` + strconv.Itoa(r.IntN(1e5)) + `"`)
				if r.IntN(2) == 0 {
					b.WriteString(`,"welcome_code":` + genQuote(genID(r, 43)))
				}
				if r.IntN(4) == 0 {
					b.WriteString(`,"wechat_channels":{"nickname":"好物推荐官","scene":` + strconv.Itoa(1+r.IntN(3)) + `}`)
				}
			case "session_status_change":
				ct := 1 + r.IntN(4)
				b.WriteString(`"session_status_change","open_kfid":` + genQuote(kfid) + `,"external_userid":` + genQuote(cust) + `,"change_type":` + strconv.Itoa(ct))
				if ct != 1 {
					b.WriteString(`,"old_servicer_userid":` + genQuote(servicers[r.IntN(len(servicers))]))
				}
				if ct != 3 {
					b.WriteString(`,"new_servicer_userid":` + genQuote(srv))
				}
				if ct == 1 || ct == 3 {
					b.WriteString(`,"msg_code":` + genQuote(genID(r, 40)))
				}
			case "msg_send_fail":
				b.WriteString(`"msg_send_fail","open_kfid":` + genQuote(kfid) + `,"external_userid":` + genQuote(cust) + `,"fail_msgid":` + genQuote("order-"+genID(r, 12)) + `,"fail_type":` + strconv.Itoa([]int{0, 1, 2, 4, 5, 6, 10, 11, 12}[r.IntN(9)]))
			case "servicer_status_change":
				b.WriteString(`"servicer_status_change","open_kfid":` + genQuote(kfid) + `,"servicer_userid":` + genQuote(srv) + `,"status":` + strconv.Itoa(1+r.IntN(2)) + `,"stop_type":` + strconv.Itoa(r.IntN(2)))
			case "user_recall_msg":
				b.WriteString(`"user_recall_msg","open_kfid":` + genQuote(kfid) + `,"external_userid":` + genQuote(cust) + `,"recall_msgid":` + genQuote("from_msgid_"+strconv.FormatUint(r.Uint64()>>1, 10)))
			case "servicer_recall_msg":
				b.WriteString(`"servicer_recall_msg","open_kfid":` + genQuote(kfid) + `,"external_userid":` + genQuote(cust) + `,"recall_msgid":` + genQuote(genID(r, 30)) + `,"servicer_userid":` + genQuote(srv))
			case "reject_customer_msg_switch_change":
				b.WriteString(`"reject_customer_msg_switch_change","open_kfid":` + genQuote(kfid) + `,"external_userid":` + genQuote(cust) + `,"servicer_userid":` + genQuote(srv) + `,"reject_switch":` + strconv.Itoa(r.IntN(2)))
			default:
				b.WriteString(`"future_event","open_kfid":` + genQuote(kfid) + `,"external_userid":` + genQuote(cust) + `,"detail":{"level":3,"tags":["a","b"]}`)
			}
			b.WriteString(`}}`)
			continue
		}
		origin, servicer := 3, ""
		if r.IntN(6) == 0 {
			origin, servicer = 5, servicers[r.IntN(len(servicers))]
		}
		b.WriteString(`{"msgid":` + genQuote(msgid) + `,"open_kfid":` + genQuote(kfid) + `,"external_userid":` + genQuote(cust) + `,"send_time":` + strconv.Itoa(sendTime) + `,"origin":` + strconv.Itoa(origin))
		if servicer != "" {
			b.WriteString(`,"servicer_userid":` + genQuote(servicer))
		}
		msgtype := kind
		if kind == "unknown" {
			msgtype = "hologram"
		}
		b.WriteString(`,"msgtype":` + genQuote(msgtype) + `,` + genQuote(msgtype) + `:`)
		media := func() string { return `{"media_id":` + genQuote(genID(r, 64)) + `}` }
		switch kind {
		case "text":
			b.WriteString(`{"content":` + genQuote(genText(r)))
			if r.IntN(10) == 0 {
				b.WriteString(`,"menu_id":"` + strconv.Itoa(100+r.IntN(20)) + `"`)
			}
			b.WriteString(`}`)
		case "image", "voice", "video", "file":
			b.WriteString(media())
		case "location":
			b.WriteString(`{"latitude":` + strconv.FormatFloat(22.5+r.Float64(), 'f', 6, 64) + `,"longitude":` + strconv.FormatFloat(113.9+r.Float64(), 'f', 6, 64) + `,"name":"深圳湾科技生态园","address":"广东省深圳市南山区科苑南路 3001 号"}`)
		case "link":
			b.WriteString(`{"title":"微信客服接入指南 (2024 版)","desc":"三步完成 API 接入","url":"https://work.weixin.qq.com/kf/doc?id=` + strconv.Itoa(r.IntN(1e6)) + `","pic_url":"https://wework.qpic.cn/wwpic/` + genID(r, 24) + `/0"}`)
		case "business_card":
			b.WriteString(`{"userid":` + genQuote(servicers[r.IntN(len(servicers))]) + `}`)
		case "miniprogram":
			b.WriteString(`{"title":"会员中心","appid":"wx8bd80126147dfa11","pagepath":"pages/member/index.html?from=kf","thumb_media_id":` + genQuote(genID(r, 64)) + `}`)
		case "msgmenu":
			b.WriteString(`{"head_content":"您对本次服务是否满意呢? ","list":[{"type":"click","click":{"id":"101","content":"满意"}},{"type":"click","click":{"id":"102","content":"不满意"}},{"type":"view","view":{"url":"https://work.weixin.qq.com","content":"查看详情"}}],"tail_content":"欢迎再次光临"}`)
		case "channels_shop_product":
			b.WriteString(`{"product_id":"10000017830917","head_img":"https://wx.qlogo.cn/finderhead/p.jpg","title":"夏季新款 T 恤","sales_price":"9900","shop_nickname":"好物小店","shop_head_img":"https://wx.qlogo.cn/shop/h.jpg"}`)
		case "channels_shop_order":
			b.WriteString(`{"order_id":"3705115058471208928","product_titles":"夏季新款 T 恤,帆布包","price_wording":"¥99.00","state":"待发货","image_url":"https://wx.qlogo.cn/order/i.jpg","shop_nickname":"好物小店"}`)
		case "merged_msg":
			inner1, _ := json.Marshal(map[string]any{"text": map[string]any{"content": "第一条: " + genText(r)}})
			inner2, _ := json.Marshal(map[string]any{"msgtype": "image", "image": map[string]any{"media_id": genID(r, 32)}})
			b.WriteString(`{"title":"张三和李四的聊天记录","item":[{"send_time":` + strconv.Itoa(sendTime-100) + `,"msgtype":"text","sender_name":"张三","msg_content":` + genQuote(string(inner1)) + `},{"send_time":` + strconv.Itoa(sendTime-90) + `,"msgtype":"image","sender_name":"李四","msg_content":` + genQuote(string(inner2)) + `}]}`)
		case "channels":
			b.WriteString(`{"sub_type":1,"nickname":"视频号昵称","title":"视频号动态标题"}`)
		case "meeting":
			b.WriteString(`{"meetingid":"` + genID(r, 16) + `","topic":"周会","starttime":1717300000,"endtime":1717303600}`)
		case "schedule":
			b.WriteString(`{"title":"客户回访","starttime":1717300000,"endtime":1717303600}`)
		case "note":
			b.WriteString(`{}`)
		case "unknown":
			b.WriteString(`{"frames":[1,2,3],"caption":"未来消息类型","hd":true,"ratio":1.5e0,"meta":null}`)
		}
		b.WriteString(`}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// genQuote encodes s as a JSON string.
func genQuote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

const genIDChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func genID(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = genIDChars[r.IntN(len(genIDChars))]
	}
	return string(b)
}

var genPhrases = []string{
	"你好，请问这个商品什么时候发货？", "订单号 3705115058471208928", "我想退款", "谢谢！",
	"Hello, is anyone there?", "好的，收到", "能开发票吗？公司抬头：深圳市某某科技有限公司",
	"快递到哪里了", "iPhone 15 Pro 256GB 有现货吗", "这个尺码偏大还是偏小？", "👍",
	"请问周末营业吗", "地址改成：北京市朝阳区建国路 88 号", "OK", "价格能便宜点吗",
}

// genText returns a realistic customer text; one in eight holds characters
// that JSON escapes.
func genText(r *rand.Rand) string {
	s := genPhrases[r.IntN(len(genPhrases))]
	if r.IntN(2) == 0 {
		s += " " + genPhrases[r.IntN(len(genPhrases))]
	}
	if r.IntN(8) == 0 {
		s += "\n第二行 \"引用\"\t结束"
	}
	return s
}
