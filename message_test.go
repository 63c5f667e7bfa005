package kf

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/wxkf/kf/internal/wxjson"
)

// rxIgnoreRaw skips the Raw fields that share page memory; tests check them
// separately.
var rxIgnoreRaw = cmpopts.IgnoreFields(Event{}, "Raw")

// rxMessageSamples holds one sample per msgtype and event type, shaped like the
// examples of shared/api-surface.md §2.3 and §2.4, with the typed value each
// must decode to (Raw fields are checked separately).
var rxMessageSamples = []struct {
	name string
	json string
	want Message
}{
	{
		name: "text",
		json: `{"msgid":"from_msgid_1","open_kfid":"wkA","external_userid":"wmB","send_time":1700000000,"origin":3,"msgtype":"text","text":{"content":"hello","menu_id":"101"}}`,
		want: Message{MsgID: "from_msgid_1", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000000, Origin: OriginCustomer, MsgType: MsgTypeText,
			Payload: &Text{Content: "hello", MenuID: "101"}},
	},
	{
		name: "image from servicer",
		json: `{"msgid":"m2","open_kfid":"wkA","external_userid":"wmB","send_time":1700000001,"origin":5,"servicer_userid":"zhangsan","msgtype":"image","image":{"media_id":"MID"}}`,
		want: Message{MsgID: "m2", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000001, Origin: OriginServicer, ServicerUserID: "zhangsan", MsgType: MsgTypeImage,
			Payload: &Image{MediaID: "MID"}},
	},
	{
		name: "voice",
		json: `{"msgid":"m3","open_kfid":"wkA","external_userid":"wmB","send_time":1700000002,"origin":3,"msgtype":"voice","voice":{"media_id":"VOICE_MID"}}`,
		want: Message{MsgID: "m3", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000002, Origin: OriginCustomer, MsgType: MsgTypeVoice,
			Payload: &Voice{MediaID: "VOICE_MID"}},
	},
	{
		name: "video",
		json: `{"msgid":"m4","open_kfid":"wkA","external_userid":"wmB","send_time":1700000003,"origin":3,"msgtype":"video","video":{"media_id":"VIDEO_MID"}}`,
		want: Message{MsgID: "m4", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000003, Origin: OriginCustomer, MsgType: MsgTypeVideo,
			Payload: &Video{MediaID: "VIDEO_MID"}},
	},
	{
		name: "file",
		json: `{"msgid":"m5","open_kfid":"wkA","external_userid":"wmB","send_time":1700000004,"origin":3,"msgtype":"file","file":{"media_id":"FILE_MID"}}`,
		want: Message{MsgID: "m5", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000004, Origin: OriginCustomer, MsgType: MsgTypeFile,
			Payload: &File{MediaID: "FILE_MID"}},
	},
	{
		name: "location",
		json: `{"msgid":"m6","open_kfid":"wkA","external_userid":"wmB","send_time":1700000005,"origin":3,"msgtype":"location","location":{"latitude":23.106021881103501,"longitude":-113.322006225586,"name":"广州国际媒体港","address":"广东省广州市海珠区滨江东路"}}`,
		want: Message{MsgID: "m6", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000005, Origin: OriginCustomer, MsgType: MsgTypeLocation,
			Payload: &Location{Latitude: 23.106021881103501, Longitude: -113.322006225586, Name: "广州国际媒体港", Address: "广东省广州市海珠区滨江东路"}},
	},
	{
		name: "link",
		json: `{"msgid":"m7","open_kfid":"wkA","external_userid":"wmB","send_time":1700000006,"origin":3,"msgtype":"link","link":{"title":"TITLE","desc":"DESC","url":"https://example.com/a?b=1&c=2","pic_url":"https://example.com/p.png"}}`,
		want: Message{MsgID: "m7", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000006, Origin: OriginCustomer, MsgType: MsgTypeLink,
			Payload: &Link{Title: "TITLE", Desc: "DESC", URL: "https://example.com/a?b=1&c=2", PicURL: "https://example.com/p.png"}},
	},
	{
		name: "business_card",
		json: `{"msgid":"m8","open_kfid":"wkA","external_userid":"wmB","send_time":1700000007,"origin":3,"msgtype":"business_card","business_card":{"userid":"lisi"}}`,
		want: Message{MsgID: "m8", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000007, Origin: OriginCustomer, MsgType: MsgTypeBusinessCard,
			Payload: &BusinessCard{UserID: "lisi"}},
	},
	{
		name: "miniprogram",
		json: `{"msgid":"m9","open_kfid":"wkA","external_userid":"wmB","send_time":1700000008,"origin":3,"msgtype":"miniprogram","miniprogram":{"title":"TITLE","appid":"wx123","pagepath":"pages/index.html","thumb_media_id":"THUMB"}}`,
		want: Message{MsgID: "m9", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000008, Origin: OriginCustomer, MsgType: MsgTypeMiniProgram,
			Payload: &MiniProgram{Title: "TITLE", AppID: "wx123", PagePath: "pages/index.html", ThumbMediaID: "THUMB"}},
	},
	{
		name: "msgmenu",
		json: `{"msgid":"m10","open_kfid":"wkA","external_userid":"wmB","send_time":1700000009,"origin":5,"servicer_userid":"zhangsan","msgtype":"msgmenu","msgmenu":{"head_content":"您对本次服务是否满意呢? ","list":[{"type":"click","click":{"id":"101","content":"满意"}},{"type":"view","view":{"url":"https://work.weixin.qq.com","content":"点击跳转"}},{"type":"miniprogram","miniprogram":{"appid":"wx123123123123123","pagepath":"pages/index?userid=zhangsan&orderid=123","content":"打开小程序"}},{"type":"text","text":{"content":"纯文本\n第二行","no_newline":1}}],"tail_content":"欢迎再次光临"}}`,
		want: Message{MsgID: "m10", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000009, Origin: OriginServicer, ServicerUserID: "zhangsan", MsgType: MsgTypeMsgMenu,
			Payload: &MsgMenu{HeadContent: "您对本次服务是否满意呢? ", TailContent: "欢迎再次光临", List: []MenuItem{
				ClickItem("101", "满意"),
				ViewItem("https://work.weixin.qq.com", "点击跳转"),
				MiniProgramItem("wx123123123123123", "pages/index?userid=zhangsan&orderid=123", "打开小程序"),
				TextItem("纯文本\n第二行", true),
			}}},
	},
	{
		name: "channels_shop_product",
		json: `{"msgid":"m11","open_kfid":"wkA","external_userid":"wmB","send_time":1700000010,"origin":3,"msgtype":"channels_shop_product","channels_shop_product":{"product_id":"10000017830917","head_img":"https://img/h.jpg","title":"夏季新款","sales_price":9900,"shop_nickname":"好物小店","shop_head_img":"https://img/s.jpg"}}`,
		want: Message{MsgID: "m11", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000010, Origin: OriginCustomer, MsgType: MsgTypeChannelsShopProduct,
			Payload: &ChannelsShopProduct{ProductID: "10000017830917", HeadImg: "https://img/h.jpg", Title: "夏季新款", SalesPrice: "9900", ShopNickname: "好物小店", ShopHeadImg: "https://img/s.jpg"}},
	},
	{
		name: "channels_shop_product alternative keys",
		json: `{"msgid":"m11b","open_kfid":"wkA","external_userid":"wmB","send_time":1700000010,"origin":3,"msgtype":"channels_shop_product","channels_shop_product":{"product_id":"P","head_image":"https://img/h.jpg","sales_price":"12.50","shop_head_image":"https://img/s.jpg"}}`,
		want: Message{MsgID: "m11b", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000010, Origin: OriginCustomer, MsgType: MsgTypeChannelsShopProduct,
			Payload: &ChannelsShopProduct{ProductID: "P", HeadImg: "https://img/h.jpg", SalesPrice: "12.50", ShopHeadImg: "https://img/s.jpg"}},
	},
	{
		name: "channels_shop_order",
		json: `{"msgid":"m12","open_kfid":"wkA","external_userid":"wmB","send_time":1700000011,"origin":3,"msgtype":"channels_shop_order","channels_shop_order":{"order_id":"3705115058471208928","product_titles":"T恤,帆布包","price_wording":"¥99.00","state":"待发货","image_url":"https://img/o.jpg","shop_nickname":"好物小店"}}`,
		want: Message{MsgID: "m12", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000011, Origin: OriginCustomer, MsgType: MsgTypeChannelsShopOrder,
			Payload: &ChannelsShopOrder{OrderID: "3705115058471208928", ProductTitles: "T恤,帆布包", PriceWording: "¥99.00", State: "待发货", ImageURL: "https://img/o.jpg", ShopNickname: "好物小店"}},
	},
	{
		name: "merged_msg",
		json: `{"msgid":"m13","open_kfid":"wkA","external_userid":"wmB","send_time":1700000012,"origin":3,"msgtype":"merged_msg","merged_msg":{"title":"张三和李四的聊天记录","item":[` +
			`{"send_time":1636455006,"msgtype":"text","sender_name":"张三","msg_content":"{\"text\":{\"content\":\"你好\\n世界\"}}"},` +
			`{"send_time":1636455008,"msgtype":"image","sender_name":"李四","msg_content":"{\"msgtype\":\"image\",\"image\":{\"media_id\":\"IMG\"}}"},` +
			`{"send_time":1636455009,"msgtype":"location","sender_name":"王五","msg_content":"{\"latitude\":1.5,\"longitude\":2.5,\"name\":\"N\"}"},` +
			`{"send_time":1636455010,"msgtype":"sticker","sender_name":"赵六","msg_content":"{\"sticker\":{\"id\":7}}"},` +
			`{"send_time":1636455011,"msgtype":"text","sender_name":"钱七","msg_content":"not json"}]}}`,
		want: Message{MsgID: "m13", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000012, Origin: OriginCustomer, MsgType: MsgTypeMergedMsg,
			Payload: &MergedMsg{Title: "张三和李四的聊天记录", Item: []MergedMsgItem{
				{SendTime: 1636455006, MsgType: MsgTypeText, SenderName: "张三", MsgContent: `{"text":{"content":"你好\n世界"}}`, Payload: &Text{Content: "你好\n世界"}},
				{SendTime: 1636455008, MsgType: MsgTypeImage, SenderName: "李四", MsgContent: `{"msgtype":"image","image":{"media_id":"IMG"}}`, Payload: &Image{MediaID: "IMG"}},
				{SendTime: 1636455009, MsgType: MsgTypeLocation, SenderName: "王五", MsgContent: `{"latitude":1.5,"longitude":2.5,"name":"N"}`, Payload: &Location{Latitude: 1.5, Longitude: 2.5, Name: "N"}},
				{SendTime: 1636455010, MsgType: "sticker", SenderName: "赵六", MsgContent: `{"sticker":{"id":7}}`, Payload: &Unknown{Type: "sticker", Raw: json.RawMessage(`{"id":7}`)}},
				{SendTime: 1636455011, MsgType: MsgTypeText, SenderName: "钱七", MsgContent: "not json"},
			}}},
	},
	{
		name: "channels",
		json: `{"msgid":"m14","open_kfid":"wkA","external_userid":"wmB","send_time":1700000013,"origin":3,"msgtype":"channels","channels":{"sub_type":1,"nickname":"视频号昵称","title":"动态标题"}}`,
		want: Message{MsgID: "m14", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000013, Origin: OriginCustomer, MsgType: MsgTypeChannels,
			Payload: &Channels{SubType: ChannelsSubTypeFeed, Nickname: "视频号昵称", Title: "动态标题"}},
	},
	{
		name: "meeting (unconfirmed payload, lenient)",
		json: `{"msgid":"m15","open_kfid":"wkA","external_userid":"wmB","send_time":1700000014,"origin":5,"servicer_userid":"zhangsan","msgtype":"meeting","meeting":{"meetingid":"MEET1","topic":"周会","starttime":"1700003600","endtime":{"weird":true},"extra":[1]}}`,
		want: Message{MsgID: "m15", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000014, Origin: OriginServicer, ServicerUserID: "zhangsan", MsgType: MsgTypeMeeting,
			Payload: &Meeting{MeetingID: "MEET1", Topic: "周会", StartTime: 1700003600,
				Raw: json.RawMessage(`{"meetingid":"MEET1","topic":"周会","starttime":"1700003600","endtime":{"weird":true},"extra":[1]}`)}},
	},
	{
		name: "schedule (unconfirmed payload)",
		json: `{"msgid":"m16","open_kfid":"wkA","external_userid":"wmB","send_time":1700000015,"origin":5,"servicer_userid":"zhangsan","msgtype":"schedule","schedule":{"title":"客户回访","start_time":1700003600,"end_time":1700007200}}`,
		want: Message{MsgID: "m16", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000015, Origin: OriginServicer, ServicerUserID: "zhangsan", MsgType: MsgTypeSchedule,
			Payload: &Schedule{Title: "客户回访", StartTime: 1700003600, EndTime: 1700007200,
				Raw: json.RawMessage(`{"title":"客户回访","start_time":1700003600,"end_time":1700007200}`)}},
	},
	{
		name: "note (unconfirmed payload)",
		json: `{"msgid":"m17","open_kfid":"wkA","external_userid":"wmB","send_time":1700000016,"origin":3,"msgtype":"note","note":{}}`,
		want: Message{MsgID: "m17", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000016, Origin: OriginCustomer, MsgType: MsgTypeNote,
			Payload: &Note{Raw: json.RawMessage(`{}`)}},
	},
	{
		name: "note without payload key",
		json: `{"msgid":"m17b","open_kfid":"wkA","external_userid":"wmB","send_time":1700000016,"origin":3,"msgtype":"note"}`,
		want: Message{MsgID: "m17b", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000016, Origin: OriginCustomer, MsgType: MsgTypeNote,
			Payload: &Note{}},
	},
	{
		name: "event enter_session",
		json: `{"msgid":"ev1","send_time":1700000100,"origin":4,"msgtype":"event","event":{"event_type":"enter_session","open_kfid":"wkA","external_userid":"wmB","scene":"promo","scene_param":"a%3D1","welcome_code":"WELCOME","wechat_channels":{"nickname":"好物推荐官","shop_nickname":"","scene":1}}}`,
		want: Message{MsgID: "ev1", SendTime: 1700000100, Origin: OriginSystem, MsgType: MsgTypeEvent,
			Payload: &Event{EventType: EventEnterSession, OpenKfID: "wkA", ExternalUserID: "wmB",
				Payload: &EnterSession{Scene: "promo", SceneParam: "a%3D1", WelcomeCode: "WELCOME",
					WeChatChannels: WeChatChannels{Nickname: "好物推荐官", Scene: WeChatChannelsSceneHome}}}},
	},
	{
		name: "event msg_send_fail",
		json: `{"msgid":"ev2","send_time":1700000101,"origin":4,"msgtype":"event","event":{"event_type":"msg_send_fail","open_kfid":"wkA","external_userid":"wmB","fail_msgid":"order-123","fail_type":10}}`,
		want: Message{MsgID: "ev2", SendTime: 1700000101, Origin: OriginSystem, MsgType: MsgTypeEvent,
			Payload: &Event{EventType: EventMsgSendFail, OpenKfID: "wkA", ExternalUserID: "wmB",
				Payload: &MsgSendFail{FailMsgID: "order-123", FailType: FailTypeUserRejected}}},
	},
	{
		name: "event servicer_status_change",
		json: `{"msgid":"ev3","send_time":1700000102,"origin":4,"msgtype":"event","event":{"event_type":"servicer_status_change","open_kfid":"wkA","servicer_userid":"zhangsan","status":2,"stop_type":1}}`,
		want: Message{MsgID: "ev3", SendTime: 1700000102, Origin: OriginSystem, MsgType: MsgTypeEvent,
			Payload: &Event{EventType: EventServicerStatusChange, OpenKfID: "wkA",
				Payload: &ServicerStatusChange{ServicerUserID: "zhangsan", Status: ReceptionStopped, StopType: ServicerStopTypeSuspended}}},
	},
	{
		name: "event session_status_change",
		json: `{"msgid":"ev4","send_time":1700000100,"origin":4,"msgtype":"event","event":{"event_type":"session_status_change","open_kfid":"wkA","external_userid":"wmB","change_type":1,"new_servicer_userid":"zhangsan","msg_code":"MSGCODE"}}`,
		want: Message{MsgID: "ev4", SendTime: 1700000100, Origin: OriginSystem, MsgType: MsgTypeEvent,
			Payload: &Event{EventType: EventSessionStatusChange, OpenKfID: "wkA", ExternalUserID: "wmB",
				Payload: &SessionStatusChange{ChangeType: ChangeTypeFromPool, NewServicerUserID: "zhangsan", MsgCode: "MSGCODE"}}},
	},
	{
		name: "event session_status_change transfer",
		json: `{"msgid":"ev4b","send_time":1700000100,"origin":4,"msgtype":"event","event":{"event_type":"session_status_change","open_kfid":"wkA","external_userid":"wmB","change_type":2,"old_servicer_userid":"zhangsan","new_servicer_userid":"lisi"}}`,
		want: Message{MsgID: "ev4b", SendTime: 1700000100, Origin: OriginSystem, MsgType: MsgTypeEvent,
			Payload: &Event{EventType: EventSessionStatusChange, OpenKfID: "wkA", ExternalUserID: "wmB",
				Payload: &SessionStatusChange{ChangeType: ChangeTypeTransfer, OldServicerUserID: "zhangsan", NewServicerUserID: "lisi"}}},
	},
	{
		name: "event user_recall_msg",
		json: `{"msgid":"ev5","send_time":1700000103,"origin":4,"msgtype":"event","event":{"event_type":"user_recall_msg","open_kfid":"wkA","external_userid":"wmB","recall_msgid":"from_msgid_1"}}`,
		want: Message{MsgID: "ev5", SendTime: 1700000103, Origin: OriginSystem, MsgType: MsgTypeEvent,
			Payload: &Event{EventType: EventUserRecallMsg, OpenKfID: "wkA", ExternalUserID: "wmB",
				Payload: &UserRecallMsg{RecallMsgID: "from_msgid_1"}}},
	},
	{
		name: "event servicer_recall_msg",
		json: `{"msgid":"ev6","send_time":1700000104,"origin":4,"msgtype":"event","event":{"event_type":"servicer_recall_msg","open_kfid":"wkA","external_userid":"wmB","recall_msgid":"m2","servicer_userid":"zhangsan"}}`,
		want: Message{MsgID: "ev6", SendTime: 1700000104, Origin: OriginSystem, MsgType: MsgTypeEvent,
			Payload: &Event{EventType: EventServicerRecallMsg, OpenKfID: "wkA", ExternalUserID: "wmB",
				Payload: &ServicerRecallMsg{RecallMsgID: "m2", ServicerUserID: "zhangsan"}}},
	},
	{
		name: "event reject_customer_msg_switch_change",
		json: `{"msgid":"ev7","send_time":1700000105,"origin":4,"msgtype":"event","event":{"event_type":"reject_customer_msg_switch_change","open_kfid":"wkA","external_userid":"wmB","servicer_userid":"zhangsan","reject_switch":1}}`,
		want: Message{MsgID: "ev7", SendTime: 1700000105, Origin: OriginSystem, MsgType: MsgTypeEvent,
			Payload: &Event{EventType: EventRejectCustomerMsgSwitchChange, OpenKfID: "wkA", ExternalUserID: "wmB",
				Payload: &RejectCustomerMsgSwitchChange{ServicerUserID: "zhangsan", RejectSwitch: RejectSwitchOn}}},
	},
	{
		name: "event_type not first",
		json: `{"msgid":"ev8","send_time":1700000106,"origin":4,"msgtype":"event","event":{"open_kfid":"wkA","fail_type":4,"external_userid":"wmB","event_type":"msg_send_fail","fail_msgid":"x"}}`,
		want: Message{MsgID: "ev8", SendTime: 1700000106, Origin: OriginSystem, MsgType: MsgTypeEvent,
			Payload: &Event{EventType: EventMsgSendFail, OpenKfID: "wkA", ExternalUserID: "wmB",
				Payload: &MsgSendFail{FailMsgID: "x", FailType: FailTypeSessionExpired}}},
	},
	{
		name: "payload before msgtype, unknown keys, nulls and white space",
		json: "{ \"text\" : { \"content\" : \"hi\" , \"future\" : [ {\"a\":null} ] } ,\n\t\"msgid\":\"m20\", \"servicer_userid\": null, \"send_time\":1700000020, \"origin\":3,\"extra\":{\"k\":[1,2.5e3,-0.5,true,false,null]}, \"msgtype\":\"text\" }",
		want: Message{MsgID: "m20", SendTime: 1700000020, Origin: OriginCustomer, MsgType: MsgTypeText,
			Payload: &Text{Content: "hi"}},
	},
}

func TestMessageSamples(t *testing.T) {
	t.Parallel()
	for _, tc := range rxMessageSamples {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got Message
			if err := json.Unmarshal([]byte(tc.json), &got); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			want := tc.want
			want.Raw = json.RawMessage(strings.TrimSpace(tc.json))
			if diff := cmp.Diff(want, got, rxIgnoreRaw); diff != "" {
				t.Errorf("decoded message mismatch (-want +got):\n%s", diff)
			}
			out, err := got.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != strings.TrimSpace(tc.json) {
				t.Errorf("MarshalJSON = %s\nwant the input %s", out, tc.json)
			}
			if got.Payload == nil {
				t.Error("Payload is nil")
			}
			// An event's Raw is exactly its "event" object.
			if ev := got.Event(); ev != nil {
				var wire struct{ Event json.RawMessage }
				if err := json.Unmarshal([]byte(tc.json), &wire); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ev.Raw, wire.Event) {
					t.Errorf("Event.Raw = %s, want %s", ev.Raw, wire.Event)
				}
			}
		})
	}
}

// TestMessageRoundTripTyped encodes every sample from its typed values (Raw
// dropped) and decodes the result again: the typed values must survive.
func TestMessageRoundTripTyped(t *testing.T) {
	t.Parallel()
	for _, tc := range rxMessageSamples {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var m Message
			if err := m.UnmarshalJSON([]byte(tc.json)); err != nil {
				t.Fatal(err)
			}
			built := tc.want // as built in code: no Raw anywhere
			rxStripRaw(&built)
			out, err := json.Marshal(built)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var again Message
			if err := again.UnmarshalJSON(out); err != nil {
				t.Fatalf("re-decode %s: %v", out, err)
			}
			rxStripRaw(&again)
			rxStripRaw(&m)
			if diff := cmp.Diff(m, again); diff != "" {
				t.Errorf("typed round trip mismatch (-decoded +re-decoded):\n%s\nencoded: %s", diff, out)
			}
		})
	}
}

// rxStripRaw clears the Raw fields inside m that typed fields cover, as for a
// Message built in code. Unknown payloads keep theirs (it is their content);
// Note's is cleared because an empty Note encodes as {}.
func rxStripRaw(m *Message) {
	m.Raw = nil
	switch p := m.Payload.(type) {
	case *Event:
		c := *p
		c.Raw = nil
		m.Payload = &c
	case *Meeting:
		c := *p
		c.Raw = nil
		m.Payload = &c
	case *Schedule:
		c := *p
		c.Raw = nil
		m.Payload = &c
	case *Note:
		m.Payload = &Note{}
	}
}

func TestMessageUnknownRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json string
		check      func(t *testing.T, m *Message)
	}{
		{
			name: "unknown msgtype",
			json: `{ "msgid" : "u1", "open_kfid":"wkA","external_userid":"wmB","send_time":1700000000,"origin":3,"msgtype":"hologram","hologram":{"x":[1, 2,{"y":null}],"s":"\u4e2d\"","f":-1.5E+3} , "trailer":true }`,
			check: func(t *testing.T, m *Message) {
				want := &Unknown{Type: "hologram", Raw: json.RawMessage(`{"x":[1, 2,{"y":null}],"s":"\u4e2d\"","f":-1.5E+3}`)}
				if diff := cmp.Diff(want, m.Payload); diff != "" {
					t.Errorf("payload (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "unknown msgtype without payload",
			json: `{"msgid":"u2","msgtype":"ghost","send_time":1,"origin":3}`,
			check: func(t *testing.T, m *Message) {
				if diff := cmp.Diff(&Unknown{Type: "ghost"}, m.Payload); diff != "" {
					t.Errorf("payload (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "unknown event_type",
			json: `{"msgid":"e9","send_time":1700000000,"origin":4,"msgtype":"event","event":{"event_type":"future_thing","open_kfid":"wkA","external_userid":"wmB","extra":{"a":[1,"\n"]}}}`,
			check: func(t *testing.T, m *Message) {
				raw := json.RawMessage(`{"event_type":"future_thing","open_kfid":"wkA","external_userid":"wmB","extra":{"a":[1,"\n"]}}`)
				want := &Event{EventType: "future_thing", OpenKfID: "wkA", ExternalUserID: "wmB",
					Payload: &UnknownEvent{Type: "future_thing", Raw: raw}, Raw: raw}
				if diff := cmp.Diff(want, m.Payload); diff != "" {
					t.Errorf("payload (-want +got):\n%s", diff)
				}
				if m.Account() != "wkA" || m.Customer() != "wmB" {
					t.Errorf("Account, Customer = %q, %q", m.Account(), m.Customer())
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var m Message
			if err := json.Unmarshal([]byte(tc.json), &m); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			tc.check(t, &m)
			out, err := m.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, []byte(tc.json)) {
				t.Errorf("MarshalJSON = %s\nwant        %s", out, tc.json)
			}
			// Inside a page as well.
			page := `{"errcode":0,"errmsg":"ok","next_cursor":"c","has_more":0,"msg_list":[` + tc.json + `]}`
			var r SyncMsgResponse
			if err := json.Unmarshal([]byte(page), &r); err != nil {
				t.Fatal(err)
			}
			if len(r.MsgList) != 1 {
				t.Fatalf("got %d messages", len(r.MsgList))
			}
			out, _ = r.MsgList[0].MarshalJSON()
			if !bytes.Equal(out, []byte(tc.json)) {
				t.Errorf("in a page: MarshalJSON = %s\nwant %s", out, tc.json)
			}
		})
	}
}

func TestMessageEscapes(t *testing.T) {
	t.Parallel()
	in := `{"msgid":"m\u0031","msgtype":"text","text":{"content":"line1\nline2 \u4e2d\u6587 \"quoted\" \\ \/ \t\r\b\f \ud83d\ude00 \ud800x \udc00"},"open_kfid":"wk\u0041"}`
	var m Message
	if err := m.UnmarshalJSON([]byte(in)); err != nil {
		t.Fatal(err)
	}
	want := "line1\nline2 中文 \"quoted\" \\ / \t\r\b\f 😀 \uFFFDx \uFFFD"
	var ref struct {
		Text struct{ Content string }
	}
	if err := json.Unmarshal([]byte(in), &ref); err != nil {
		t.Fatal(err)
	}
	if ref.Text.Content != want {
		t.Fatalf("test expectation differs from encoding/json: %q", ref.Text.Content)
	}
	if got := m.Text().Content; got != want {
		t.Errorf("Content = %q, want %q", got, want)
	}
	if m.MsgID != "m1" || m.OpenKfID != "wkA" {
		t.Errorf("MsgID, OpenKfID = %q, %q", m.MsgID, m.OpenKfID)
	}
	// An escaped key matches too.
	var m2 Message
	if err := m2.UnmarshalJSON([]byte(`{"msg\u0074ype":"image","imag\u0065":{"media_id":"X"}}`)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&Image{MediaID: "X"}, m2.Payload); diff != "" {
		t.Errorf("escaped keys (-want +got):\n%s", diff)
	}
}

func TestMessageMalformed(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		``,
		` `,
		`[]`,
		`"text"`,
		`42`,
		`{`,
		`{"msgid":`,
		`{"msgid":"a",}`,
		`{"msgid":"a" "origin":3}`,
		`{"msgid":"a",,"origin":3}`,
		`{"msgid" "a"}`,
		`{msgid:"a"}`,
		`{"msgid":"a"} x`,
		`{"msgid":"a"}{}`,
		`{"msgid":"unterminated}`,
		"{\"msgid\":\"raw\x01control\"}",
		`{"msgid":"bad \q escape"}`,
		`{"msgid":"bad \u12 escape"}`,
		`{"msgid":12}`,
		`{"send_time":-1}`,
		`{"send_time":1.5}`,
		`{"send_time":1e3}`,
		`{"send_time":"1700000000"}`,
		`{"send_time":18446744073709551616}`,
		`{"origin":4294967296}`,
		`{"send_time":01}`,
		`{"send_time":-}`,
		`{"send_time":1.}`,
		`{"x":tru}`,
		`{"x":nul}`,
		`{"x":[1,]}`,
		`{"x":[1 2]}`,
		`{"x":{"a":1,}}`,
		`{"msgtype":"text","text":"hello"}`,
		`{"msgtype":"text","text":{"content":5}}`,
		`{"msgtype":"text","text":{"content":"a"},"text":[]}`,
		`{"msgtype":"location","location":{"latitude":"23.1"}}`,
		`{"msgtype":"location","location":{"latitude":1e999}}`,
		`{"msgtype":"msgmenu","msgmenu":{"list":[1]}}`,
		`{"msgtype":"msgmenu","msgmenu":{"list":[{"type":"text","text":{"no_newline":"1"}}]}}`,
		`{"msgtype":"merged_msg","merged_msg":{"item":["x"]}}`,
		`{"msgtype":"merged_msg","merged_msg":{"item":[{"send_time":"x"}]}}`,
		`{"msgtype":"channels","channels":{"sub_type":99999999999}}`,
		`{"msgtype":"event","event":[]}`,
		`{"msgtype":"event","event":{"event_type":5}}`,
		`{"msgtype":"event","event":{"event_type":"msg_send_fail","fail_type":"10"}}`,
		`{"msgtype":"event","event":{"event_type":"enter_session","wechat_channels":{"scene":"1"}}}`,
		`{"msgtype":"event","event":{"event_type":"enter_session","open_kfid":1}}`,
		`{"msgtype":"event","event":{"event_type":"x","a":}}`,
		`{"msgtype":"unknown","unknown":{"a":[}]}`,
		`{"msgtype":"meeting","meeting":{"a":1,}}`,
		`{"a":` + strings.Repeat("[", wxjson.MaxDepth+1) + strings.Repeat("]", wxjson.MaxDepth+1) + `}`,
	} {
		var m Message
		err := m.UnmarshalJSON([]byte(in))
		if err == nil {
			t.Errorf("UnmarshalJSON(%q) succeeded, want an error", in)
			continue
		}
		var se *wxjson.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("UnmarshalJSON(%q) = %v, want a *wxjson.SyntaxError inside", in, err)
		}
	}
}

func TestMessageNull(t *testing.T) {
	t.Parallel()
	m := Message{MsgID: "keep"}
	if err := m.UnmarshalJSON([]byte(" null ")); err != nil {
		t.Fatal(err)
	}
	if m.MsgID != "keep" {
		t.Errorf("null changed the message: %+v", m)
	}
	// Null members read as absent.
	var m2 Message
	if err := m2.UnmarshalJSON([]byte(`{"msgid":null,"send_time":null,"msgtype":"text","text":null}`)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&Text{}, m2.Payload); diff != "" || m2.MsgID != "" {
		t.Errorf("null members: %+v (-want +got payload):\n%s", m2, diff)
	}
	var m3 Message
	if err := m3.UnmarshalJSON([]byte(`{"msgtype":"event","event":null}`)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&Event{Payload: &UnknownEvent{}}, m3.Payload); diff != "" {
		t.Errorf("null event (-want +got):\n%s", diff)
	}
}

func TestMessageDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	in := []byte(`{"msgid":"m1","msgtype":"text","text":{"content":"original"}}`)
	var m Message
	if err := m.UnmarshalJSON(in); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'x'
	}
	if m.MsgID != "m1" || m.Text().Content != "original" || !json.Valid(m.Raw) {
		t.Errorf("message changed with its input: %+v %s", m, m.Raw)
	}
	// Raw has no spare capacity: appending to it never overwrites the page.
	if cap(m.Raw) != len(m.Raw) {
		t.Errorf("cap(Raw) = %d, len = %d", cap(m.Raw), len(m.Raw))
	}
}

func TestMessageAccessors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		m                Message
		account, custome string
		text             *Text
		event            bool
	}{
		{"customer text", Message{OpenKfID: "wkA", ExternalUserID: "wmB", Payload: &Text{Content: "x"}}, "wkA", "wmB", &Text{Content: "x"}, false},
		{"event", Message{MsgType: MsgTypeEvent, Payload: &Event{OpenKfID: "wkE", ExternalUserID: "wmE"}}, "wkE", "wmE", nil, true},
		{"servicer status event", Message{Payload: &Event{OpenKfID: "wkE", Payload: &ServicerStatusChange{}}}, "wkE", "", nil, true},
		{"envelope wins", Message{OpenKfID: "wkA", ExternalUserID: "wmB", Payload: &Event{OpenKfID: "wkE", ExternalUserID: "wmE"}}, "wkA", "wmB", nil, true},
		{"nil payload", Message{}, "", "", nil, false},
		{"nil event pointer", Message{Payload: (*Event)(nil)}, "", "", nil, false},
	}
	for _, tc := range tests {
		if got := tc.m.Account(); got != tc.account {
			t.Errorf("%s: Account = %q, want %q", tc.name, got, tc.account)
		}
		if got := tc.m.Customer(); got != tc.custome {
			t.Errorf("%s: Customer = %q, want %q", tc.name, got, tc.custome)
		}
		if diff := cmp.Diff(tc.text, tc.m.Text()); diff != "" {
			t.Errorf("%s: Text (-want +got):\n%s", tc.name, diff)
		}
		if got := tc.m.Event() != nil; got != tc.event {
			t.Errorf("%s: Event() != nil is %v", tc.name, got)
		}
	}
	m := Message{SendTime: 1700000000}
	if got := m.Time(); !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("Time = %v", got)
	}
}

func TestMessageMarshalBuiltInCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{
			name: "text",
			m:    Message{MsgID: "m1", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1, Origin: OriginCustomer, MsgType: MsgTypeText, Payload: &Text{Content: "hi <b>"}},
			want: `{"msgid":"m1","open_kfid":"wkA","external_userid":"wmB","send_time":1,"origin":3,"msgtype":"text","text":{"content":"hi \u003cb\u003e"}}`,
		},
		{
			name: "msgtype from payload",
			m:    Message{MsgID: "m2", Origin: OriginCustomer, Payload: &Image{MediaID: "M"}},
			want: `{"msgid":"m2","send_time":0,"origin":3,"msgtype":"image","image":{"media_id":"M"}}`,
		},
		{
			name: "event",
			m: Message{MsgID: "e1", SendTime: 2, Origin: OriginSystem, MsgType: MsgTypeEvent, Payload: &Event{
				OpenKfID: "wkA", ExternalUserID: "wmB",
				Payload: &SessionStatusChange{ChangeType: ChangeTypeEnd, OldServicerUserID: "zs", MsgCode: "C"}}},
			want: `{"msgid":"e1","send_time":2,"origin":4,"msgtype":"event","event":{"event_type":"session_status_change","open_kfid":"wkA","external_userid":"wmB","change_type":3,"old_servicer_userid":"zs","msg_code":"C"}}`,
		},
		{
			name: "enter_session without channels",
			m: Message{MsgID: "e2", Origin: OriginSystem, MsgType: MsgTypeEvent, Payload: &Event{
				OpenKfID: "wkA", ExternalUserID: "wmB", Payload: &EnterSession{Scene: "s"}}},
			want: `{"msgid":"e2","send_time":0,"origin":4,"msgtype":"event","event":{"event_type":"enter_session","open_kfid":"wkA","external_userid":"wmB","scene":"s"}}`,
		},
		{
			name: "unknown with raw",
			m:    Message{MsgID: "u", MsgType: "future", Payload: &Unknown{Type: "future", Raw: json.RawMessage(`{"a":1}`)}},
			want: `{"msgid":"u","send_time":0,"origin":0,"msgtype":"future","future":{"a":1}}`,
		},
		{
			name: "unknown without raw",
			m:    Message{MsgID: "u", MsgType: "future", Payload: &Unknown{Type: "future"}},
			want: `{"msgid":"u","send_time":0,"origin":0,"msgtype":"future"}`,
		},
		{
			name: "merged_msg content from payload",
			m: Message{MsgID: "mm", MsgType: MsgTypeMergedMsg, Payload: &MergedMsg{Title: "T", Item: []MergedMsgItem{
				{SendTime: 5, MsgType: MsgTypeText, SenderName: "张三", Payload: &Text{Content: "你好"}},
			}}},
			want: `{"msgid":"mm","send_time":0,"origin":0,"msgtype":"merged_msg","merged_msg":{"title":"T","item":[{"send_time":5,"msgtype":"text","sender_name":"张三","msg_content":"{\"text\":{\"content\":\"你好\"}}"}]}}`,
		},
		{
			name: "note",
			m:    Message{MsgID: "n", MsgType: MsgTypeNote, Payload: &Note{}},
			want: `{"msgid":"n","send_time":0,"origin":0,"msgtype":"note","note":{}}`,
		},
		{
			name: "no payload",
			m:    Message{MsgID: "p"},
			want: `{"msgid":"p","send_time":0,"origin":0,"msgtype":""}`,
		},
	}
	for _, tc := range tests {
		got, err := json.Marshal(tc.m)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got, want string
	}{
		{FailTypeUserRejected.String(), "user_rejected"},
		{FailTypeSessionExpired.String(), "session_expired"},
		{FailType(3).String(), "FailType(3)"},
		{ChangeTypeFromPool.String(), "from_pool"},
		{ChangeTypeReengage.String(), "reengage"},
		{ChangeType(9).String(), "ChangeType(9)"},
		{ChannelsSubTypeLive.String(), "live"},
		{ChannelsSubType(0).String(), "ChannelsSubType(0)"},
		{WeChatChannelsSceneShopOrder.String(), "shop_order"},
		{WeChatChannelsScene(6).String(), "WeChatChannelsScene(6)"},
		{ReceptionReceiving.String(), "receiving"},
		{ReceptionStopped.String(), "stopped"},
		{ReceptionStatus(0).String(), "ReceptionStatus(0)"},
		{RejectSwitchOn.String(), "on"},
		{RejectSwitch(2).String(), "RejectSwitch(2)"},
		{VoiceFormatSILK.String(), "silk"},
		{VoiceFormat(7).String(), "VoiceFormat(7)"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("String() = %q, want %q", tc.got, tc.want)
		}
	}
	// Every FailType constant has a name.
	for _, ft := range []FailType{0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12} {
		if strings.HasPrefix(ft.String(), "FailType(") {
			t.Errorf("FailType %d has no name", int(ft))
		}
	}
}

// TestNewPayloadRegistry checks that every documented msgtype maps to its
// own payload type and unknown ones to *Unknown.
func TestNewPayloadRegistry(t *testing.T) {
	t.Parallel()
	known := []MsgType{MsgTypeText, MsgTypeImage, MsgTypeVoice, MsgTypeVideo, MsgTypeFile, MsgTypeLocation,
		MsgTypeLink, MsgTypeBusinessCard, MsgTypeMiniProgram, MsgTypeMsgMenu, MsgTypeChannelsShopProduct,
		MsgTypeChannelsShopOrder, MsgTypeMergedMsg, MsgTypeChannels, MsgTypeMeeting, MsgTypeSchedule,
		MsgTypeNote, MsgTypeEvent}
	if len(known) != 18 {
		t.Fatalf("%d msgtypes, want 18", len(known))
	}
	for _, mt := range known {
		p := rxNewPayload(mt)
		if _, unknown := p.(*Unknown); unknown || p.receivedType() != mt {
			t.Errorf("rxNewPayload(%q) = %T (type %q)", mt, p, p.receivedType())
		}
	}
	if p, ok := rxNewPayload("ca_link").(*Unknown); !ok || p.Type != "ca_link" {
		t.Errorf("rxNewPayload(ca_link) = %#v, want *Unknown", p)
	}
	events := []EventType{EventEnterSession, EventMsgSendFail, EventServicerStatusChange, EventSessionStatusChange,
		EventUserRecallMsg, EventServicerRecallMsg, EventRejectCustomerMsgSwitchChange}
	for _, et := range events {
		e := rxNewEvent(et)
		if _, unknown := e.Payload.(*UnknownEvent); unknown || e.Payload.receivedEventType() != et {
			t.Errorf("rxNewEvent(%q).Payload = %T", et, e.Payload)
		}
	}
	if u, ok := rxNewEvent("x").Payload.(*UnknownEvent); !ok || u.Type != "x" {
		t.Errorf("rxNewEvent(x).Payload = %#v", u)
	}
}
