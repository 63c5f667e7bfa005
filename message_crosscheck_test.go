package kf

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rxMirrorMessage mirrors the wire shape of a message with plain structs, so
// that encoding/json decodes it independently of the fast decoder.
type rxMirrorMessage struct {
	MsgID          string `json:"msgid"`
	OpenKfID       string `json:"open_kfid"`
	ExternalUserID string `json:"external_userid"`
	SendTime       uint64 `json:"send_time"`
	Origin         int    `json:"origin"`
	ServicerUserID string `json:"servicer_userid"`
	MsgType        string `json:"msgtype"`

	Text *struct {
		Content string `json:"content"`
		MenuID  string `json:"menu_id"`
	} `json:"text"`
	Image, Voice, Video, File *struct {
		MediaID string `json:"media_id"`
	}
	Location            *Location            `json:"location"`
	Link                *Link                `json:"link"`
	BusinessCard        *BusinessCard        `json:"business_card"`
	MiniProgram         *MiniProgram         `json:"miniprogram"`
	MsgMenu             *MsgMenu             `json:"msgmenu"`
	ChannelsShopProduct *ChannelsShopProduct `json:"channels_shop_product"`
	ChannelsShopOrder   *ChannelsShopOrder   `json:"channels_shop_order"`
	Channels            *Channels            `json:"channels"`
	MergedMsg           *struct {
		Title string `json:"title"`
		Item  []struct {
			SendTime   uint64 `json:"send_time"`
			MsgType    string `json:"msgtype"`
			SenderName string `json:"sender_name"`
			MsgContent string `json:"msg_content"`
		} `json:"item"`
	} `json:"merged_msg"`
	Event *struct {
		EventType      string `json:"event_type"`
		OpenKfID       string `json:"open_kfid"`
		ExternalUserID string `json:"external_userid"`
		Scene          string `json:"scene"`
		SceneParam     string `json:"scene_param"`
		WelcomeCode    string `json:"welcome_code"`
		WeChatChannels *struct {
			Nickname     string `json:"nickname"`
			ShopNickname string `json:"shop_nickname"`
			Scene        int    `json:"scene"`
		} `json:"wechat_channels"`
		FailMsgID         string `json:"fail_msgid"`
		FailType          int    `json:"fail_type"`
		ServicerUserID    string `json:"servicer_userid"`
		Status            int    `json:"status"`
		StopType          int    `json:"stop_type"`
		ChangeType        int    `json:"change_type"`
		OldServicerUserID string `json:"old_servicer_userid"`
		NewServicerUserID string `json:"new_servicer_userid"`
		MsgCode           string `json:"msg_code"`
		RecallMsgID       string `json:"recall_msgid"`
		RejectSwitch      int    `json:"reject_switch"`
	} `json:"event"`
}

// expected builds the Message the fast decoder must produce, from the
// encoding/json view of the same bytes (raw is the element's raw JSON,
// fields its members' raw JSON).
func (mm *rxMirrorMessage) expected(t *testing.T, raw json.RawMessage, fields map[string]json.RawMessage) Message {
	t.Helper()
	m := Message{MsgID: mm.MsgID, OpenKfID: mm.OpenKfID, ExternalUserID: mm.ExternalUserID, SendTime: mm.SendTime,
		Origin: Origin(mm.Origin), ServicerUserID: mm.ServicerUserID, MsgType: MsgType(mm.MsgType), Raw: raw}
	switch m.MsgType {
	case MsgTypeText:
		m.Payload = &Text{Content: mm.Text.Content, MenuID: mm.Text.MenuID}
	case MsgTypeImage:
		m.Payload = &Image{MediaID: mm.Image.MediaID}
	case MsgTypeVoice:
		m.Payload = &Voice{MediaID: mm.Voice.MediaID}
	case MsgTypeVideo:
		m.Payload = &Video{MediaID: mm.Video.MediaID}
	case MsgTypeFile:
		m.Payload = &File{MediaID: mm.File.MediaID}
	case MsgTypeLocation:
		m.Payload = mm.Location
	case MsgTypeLink:
		m.Payload = mm.Link
	case MsgTypeBusinessCard:
		m.Payload = mm.BusinessCard
	case MsgTypeMiniProgram:
		m.Payload = mm.MiniProgram
	case MsgTypeMsgMenu:
		m.Payload = mm.MsgMenu
	case MsgTypeChannelsShopProduct:
		m.Payload = mm.ChannelsShopProduct
	case MsgTypeChannelsShopOrder:
		m.Payload = mm.ChannelsShopOrder
	case MsgTypeChannels:
		m.Payload = mm.Channels
	case MsgTypeMergedMsg:
		p := &MergedMsg{Title: mm.MergedMsg.Title, Item: []MergedMsgItem{}}
		for _, it := range mm.MergedMsg.Item {
			// The inner message, decoded with encoding/json too.
			var inner map[string]json.RawMessage
			if err := json.Unmarshal([]byte(it.MsgContent), &inner); err != nil {
				t.Fatalf("inner msg_content: %v", err)
			}
			var payload Payload
			switch MsgType(it.MsgType) {
			case MsgTypeText:
				var x Text
				rxMustUnmarshal(t, inner["text"], &x)
				payload = &x
			case MsgTypeImage:
				var x Image
				rxMustUnmarshal(t, inner["image"], &x)
				payload = &x
			default:
				t.Fatalf("generator made an inner %q", it.MsgType)
			}
			p.Item = append(p.Item, MergedMsgItem{SendTime: it.SendTime, MsgType: MsgType(it.MsgType),
				SenderName: it.SenderName, MsgContent: it.MsgContent, Payload: payload})
		}
		m.Payload = p
	case MsgTypeMeeting:
		var x struct {
			MeetingID string `json:"meetingid"`
			Topic     string `json:"topic"`
			StartTime int64  `json:"starttime"`
			EndTime   int64  `json:"endtime"`
		}
		rxMustUnmarshal(t, fields["meeting"], &x)
		m.Payload = &Meeting{MeetingID: x.MeetingID, Topic: x.Topic, StartTime: x.StartTime, EndTime: x.EndTime, Raw: fields["meeting"]}
	case MsgTypeSchedule:
		var x struct {
			Title     string `json:"title"`
			StartTime int64  `json:"starttime"`
			EndTime   int64  `json:"endtime"`
		}
		rxMustUnmarshal(t, fields["schedule"], &x)
		m.Payload = &Schedule{Title: x.Title, StartTime: x.StartTime, EndTime: x.EndTime, Raw: fields["schedule"]}
	case MsgTypeNote:
		m.Payload = &Note{Raw: fields["note"]}
	case MsgTypeEvent:
		e := mm.Event
		ev := &Event{EventType: EventType(e.EventType), OpenKfID: e.OpenKfID, ExternalUserID: e.ExternalUserID, Raw: fields["event"]}
		switch ev.EventType {
		case EventEnterSession:
			p := &EnterSession{Scene: e.Scene, SceneParam: e.SceneParam, WelcomeCode: e.WelcomeCode}
			if c := e.WeChatChannels; c != nil {
				p.WeChatChannels = WeChatChannels{Nickname: c.Nickname, ShopNickname: c.ShopNickname, Scene: WeChatChannelsScene(c.Scene)}
			}
			ev.Payload = p
		case EventMsgSendFail:
			ev.Payload = &MsgSendFail{FailMsgID: e.FailMsgID, FailType: FailType(e.FailType)}
		case EventServicerStatusChange:
			ev.Payload = &ServicerStatusChange{ServicerUserID: e.ServicerUserID, Status: ReceptionStatus(e.Status), StopType: ServicerStopType(e.StopType)}
		case EventSessionStatusChange:
			ev.Payload = &SessionStatusChange{ChangeType: ChangeType(e.ChangeType), OldServicerUserID: e.OldServicerUserID,
				NewServicerUserID: e.NewServicerUserID, MsgCode: e.MsgCode}
		case EventUserRecallMsg:
			ev.Payload = &UserRecallMsg{RecallMsgID: e.RecallMsgID}
		case EventServicerRecallMsg:
			ev.Payload = &ServicerRecallMsg{RecallMsgID: e.RecallMsgID, ServicerUserID: e.ServicerUserID}
		case EventRejectCustomerMsgSwitchChange:
			ev.Payload = &RejectCustomerMsgSwitchChange{ServicerUserID: e.ServicerUserID, RejectSwitch: RejectSwitch(e.RejectSwitch)}
		default:
			ev.Payload = &UnknownEvent{Type: ev.EventType, Raw: fields["event"]}
		}
		m.Payload = ev
	default:
		m.Payload = &Unknown{Type: m.MsgType, Raw: fields[mm.MsgType]}
	}
	return m
}

func rxMustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("encoding/json: %v: %s", err, data)
	}
}

// TestDecodeCrossCheck decodes the generated 1000-message page with the fast
// decoder and with encoding/json (into mirror structs and raw members): every
// field, every string and every Raw must agree.
func TestDecodeCrossCheck(t *testing.T) {
	t.Parallel()
	page := genSyncPage(genPageMessages)
	var got SyncMsgResponse
	if err := got.UnmarshalJSON(page); err != nil {
		t.Fatal(err)
	}
	var ref struct {
		NextCursor string            `json:"next_cursor"`
		HasMore    int               `json:"has_more"`
		MsgList    []json.RawMessage `json:"msg_list"`
	}
	rxMustUnmarshal(t, page, &ref)
	if got.NextCursor != ref.NextCursor || got.HasMore != (ref.HasMore == 1) {
		t.Errorf("NextCursor, HasMore = %q, %v; want %q, %v", got.NextCursor, got.HasMore, ref.NextCursor, ref.HasMore == 1)
	}
	if len(got.MsgList) != len(ref.MsgList) || len(got.MsgList) != genPageMessages {
		t.Fatalf("got %d messages, encoding/json %d", len(got.MsgList), len(ref.MsgList))
	}
	counts := map[string]int{}
	for i, raw := range ref.MsgList {
		var mm rxMirrorMessage
		rxMustUnmarshal(t, raw, &mm)
		var fields map[string]json.RawMessage
		rxMustUnmarshal(t, raw, &fields)
		want := mm.expected(t, raw, fields)
		if diff := cmp.Diff(want, got.MsgList[i]); diff != "" {
			t.Fatalf("msg_list[%d] mismatch (-encoding/json +fast):\n%s\nraw: %s", i, diff, raw)
		}
		out, err := got.MsgList[i].MarshalJSON()
		if err != nil || !bytes.Equal(out, raw) {
			t.Fatalf("msg_list[%d] MarshalJSON = %s, %v; want the raw element", i, out, err)
		}
		k := string(want.MsgType)
		if e := want.Event(); e != nil {
			k += "/" + string(e.EventType)
		}
		counts[k]++
	}
	// The mix the benchmark promises.
	for k, want := range map[string]int{"text": 600, "image": 100, "event/enter_session": 100, "event/session_status_change": 50} {
		if counts[k] != want {
			t.Errorf("%d %s messages, want %d (all: %v)", counts[k], k, want, counts)
		}
	}
	if len(counts) < 25 {
		t.Errorf("only %d kinds in the page: %v", len(counts), counts)
	}
}

// TestDecodeAllocs pins the allocation budget: at most 4 allocations per
// message (the target; the decoder does about 1.2).
func TestDecodeAllocs(t *testing.T) {
	page := genSyncPage(genPageMessages)
	allocs := testing.AllocsPerRun(5, func() {
		var r SyncMsgResponse
		if err := r.UnmarshalJSON(page); err != nil {
			t.Fatal(err)
		}
	})
	perMsg := allocs / genPageMessages
	t.Logf("%.0f allocations per page, %.3f per message", allocs, perMsg)
	if perMsg > 2 {
		t.Errorf("%.3f allocations per message, want <= 2 (budget 4)", perMsg)
	}
}
