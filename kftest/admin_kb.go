package kftest

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wxkf/kf"
)

// Knowledge base (机器人知识库): groups and intents; shared/api-surface.md
// §1.11, §7. The platform documents the limits but not the errcodes of
// breaking them; the emulator answers 40058 (invalid parameter) for a
// duplicate name or question, a full group or knowledge base, an unknown
// group_id or intent_id, and any change to the default group.

const (
	kbMaxGroups          = 100  // groups per corp, the default group included
	kbMaxIntentsPerGroup = 200  // intents per group
	kbListDefault        = 500  // list_group / list_intent default limit
	kbListMax            = 1000 // their maximum limit
	kbDefaultGroupName   = "默认分组"
)

// kbState is the corp's knowledge base. Stored groups and intents are
// never changed in place (mod_* replaces them), so replies may share them.
type kbState struct {
	seq         uint64 // ids and cursor positions
	groups      map[string]*kbGroup
	groupOrder  []string // by seq
	intents     map[string]*kbIntent
	intentOrder []string // by seq
}

type kbGroup struct {
	seq       uint64
	id        string
	name      string
	isDefault bool
}

// kbIntent keeps the intent in list_intent form: image and video
// attachments carry the file name instead of the media_id, mini programs
// no thumb_media_id.
type kbIntent struct {
	seq      uint64
	id       string
	groupID  string
	question kf.IntentQuestion
	similar  kf.IntentSimilarQuestions
	answers  []kf.IntentAnswer
}

// newKBState returns a knowledge base holding the default group.
func newKBState() kbState {
	kb := kbState{groups: map[string]*kbGroup{}, intents: map[string]*kbIntent{}}
	kb.addGroup(kbDefaultGroupName, true)
	return kb
}

func (kb *kbState) next(prefix string) (uint64, string) {
	kb.seq++
	return kb.seq, prefix + strconv.FormatUint(kb.seq, 36)
}

func (kb *kbState) addGroup(name string, isDefault bool) *kbGroup {
	seq, id := kb.next("kbg")
	g := &kbGroup{seq: seq, id: id, name: name, isDefault: isDefault}
	kb.groups[id] = g
	kb.groupOrder = append(kb.groupOrder, id)
	return g
}

func (kb *kbState) groupNamed(name string) *kbGroup {
	for _, g := range kb.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

// group returns the group, 40058 for an unknown id.
func (kb *kbState) group(id string) (*kbGroup, error) {
	g := kb.groups[id]
	if g == nil {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid group_id: no such group")
	}
	return g, nil
}

// intent returns the intent, 40058 for an unknown id.
func (kb *kbState) intent(id string) (*kbIntent, error) {
	in := kb.intents[id]
	if in == nil {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid intent_id: no such intent")
	}
	return in, nil
}

// questionTaken reports whether another intent than except asks question.
func (kb *kbState) questionTaken(question, except string) bool {
	for id, in := range kb.intents {
		if id != except && in.question.Text.Content == question {
			return true
		}
	}
	return false
}

// kbCursor encodes a list position; kbPosition decodes it ("" is the
// start; anything unparsable answers 40058).
func kbCursor(seq uint64) string { return "KBC" + strconv.FormatUint(seq, 36) }

func kbPosition(cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(cursor, "KBC")
	n, err := strconv.ParseUint(rest, 36, 64)
	if !ok || err != nil {
		return 0, apiErr(kf.ErrCodeInvalidParameter, "invalid cursor")
	}
	return n, nil
}

func kbLimit(limit int) int {
	if limit == 0 {
		return kbListDefault
	}
	return limit
}

// ---- groups ----

func (s *Server) kbAddGroup(c *call, st *State) (any, error) {
	var req kf.AddGroupRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	kb := &st.kb
	if kb.groupNamed(req.Name) != nil {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid name: a group named %q exists", req.Name)
	}
	if len(kb.groups) >= kbMaxGroups {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "group count exceed limit %d", kbMaxGroups)
	}
	return kf.AddGroupResponse{GroupID: kb.addGroup(req.Name, false).id}, nil
}

// kbDelGroup deletes a group and its intents.
func (s *Server) kbDelGroup(c *call, st *State) (any, error) {
	var req kf.DeleteGroupRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	kb := &st.kb
	g, err := kb.group(req.GroupID)
	if err != nil {
		return nil, err
	}
	if g.isDefault {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid group_id: the default group cannot be deleted")
	}
	delete(kb.groups, g.id)
	kb.groupOrder = slices.DeleteFunc(kb.groupOrder, func(id string) bool { return id == g.id })
	for id, in := range kb.intents {
		if in.groupID == g.id {
			delete(kb.intents, id)
		}
	}
	kb.intentOrder = slices.DeleteFunc(kb.intentOrder, func(id string) bool { return kb.intents[id] == nil })
	return nil, nil
}

func (s *Server) kbModGroup(c *call, st *State) (any, error) {
	var req kf.ModifyGroupRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	kb := &st.kb
	g, err := kb.group(req.GroupID)
	if err != nil {
		return nil, err
	}
	if g.isDefault {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid group_id: the default group cannot be modified")
	}
	if other := kb.groupNamed(req.Name); other != nil && other != g {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid name: a group named %q exists", req.Name)
	}
	ng := *g
	ng.name = req.Name
	kb.groups[g.id] = &ng
	return nil, nil
}

func (s *Server) kbListGroup(c *call, st *State) (any, error) {
	var req kf.ListGroupsRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	kb := &st.kb
	from, err := kbPosition(req.Cursor)
	if err != nil {
		return nil, err
	}
	if req.GroupID != "" {
		if _, err := kb.group(req.GroupID); err != nil {
			return nil, err
		}
	}
	limit := kbLimit(req.Limit)
	out := kf.ListGroupsResponse{Groups: []kf.Group{}}
	for _, id := range kb.groupOrder {
		g := kb.groups[id]
		if g.seq < from || (req.GroupID != "" && id != req.GroupID) {
			continue
		}
		if len(out.Groups) == limit {
			out.HasMore, out.NextCursor = true, kbCursor(g.seq)
			break
		}
		out.Groups = append(out.Groups, kf.Group{GroupID: g.id, Name: g.name, IsDefault: g.isDefault})
	}
	return out, nil
}

// ---- intents ----

// kbStoreAnswers checks the answers of add_intent / mod_intent (exactly one
// answer with a text or an attachment; attachments referring to live media
// of the right type, else 40007) and returns them in list_intent form.
func kbStoreAnswers(st *State, answers []kf.IntentAnswer, now time.Time) ([]kf.IntentAnswer, error) {
	if len(answers) == 0 {
		return nil, apiErr(kf.ErrCodeParameterEmpty, "answers required")
	}
	out := make([]kf.IntentAnswer, 0, len(answers))
	for _, a := range answers {
		if a.Text.Content == "" && len(a.Attachments) == 0 {
			return nil, apiErr(kf.ErrCodeParameterEmpty, "answers[0]: text.content or an attachment required")
		}
		na := kf.IntentAnswer{Text: a.Text}
		for i, at := range a.Attachments {
			bad := func(field string) error {
				return apiErr(kf.ErrCodeInvalidMediaID, "invalid media_id in attachments[%d].%s", i, field)
			}
			switch at.MsgType {
			case kf.MsgTypeImage:
				m := st.liveMedia(at.Image.MediaID, "image", now)
				if m == nil {
					return nil, bad("image.media_id")
				}
				na.Attachments = append(na.Attachments, kf.IntentAttachment{MsgType: at.MsgType, Image: &kf.IntentMedia{Name: m.filename}})
			case kf.MsgTypeVideo:
				m := st.liveMedia(at.Video.MediaID, "video", now)
				if m == nil {
					return nil, bad("video.media_id")
				}
				na.Attachments = append(na.Attachments, kf.IntentAttachment{MsgType: at.MsgType, Video: &kf.IntentMedia{Name: m.filename}})
			case kf.MsgTypeLink:
				l := *at.Link
				na.Attachments = append(na.Attachments, kf.IntentAttachment{MsgType: at.MsgType, Link: &l})
			case kf.MsgTypeMiniProgram:
				if st.liveMedia(at.MiniProgram.ThumbMediaID, "image", now) == nil {
					return nil, bad("miniprogram.thumb_media_id")
				}
				mp := *at.MiniProgram
				mp.ThumbMediaID = ""
				na.Attachments = append(na.Attachments, kf.IntentAttachment{MsgType: at.MsgType, MiniProgram: &mp})
			}
		}
		out = append(out, na)
	}
	return out, nil
}

func (s *Server) kbAddIntent(c *call, st *State) (any, error) {
	var req kf.AddIntentRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	kb := &st.kb
	g, err := kb.group(req.GroupID)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, in := range kb.intents {
		if in.groupID == g.id {
			n++
		}
	}
	if n >= kbMaxIntentsPerGroup {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "intent count of the group exceed limit %d", kbMaxIntentsPerGroup)
	}
	if kb.questionTaken(req.Question.Text.Content, "") {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid question: an intent asks it already")
	}
	answers, err := kbStoreAnswers(st, req.Answers, c.now)
	if err != nil {
		return nil, err
	}
	seq, id := kb.next("kbi")
	kb.intents[id] = &kbIntent{seq: seq, id: id, groupID: g.id, question: req.Question,
		similar: kf.IntentSimilarQuestions{Items: slices.Clone(req.SimilarQuestions.Items)}, answers: answers}
	kb.intentOrder = append(kb.intentOrder, id)
	return kf.AddIntentResponse{IntentID: id}, nil
}

func (s *Server) kbDelIntent(c *call, st *State) (any, error) {
	var req kf.DeleteIntentRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	kb := &st.kb
	if _, err := kb.intent(req.IntentID); err != nil {
		return nil, err
	}
	delete(kb.intents, req.IntentID)
	kb.intentOrder = slices.DeleteFunc(kb.intentOrder, func(id string) bool { return id == req.IntentID })
	return nil, nil
}

// kbModIntent replaces the parts of an intent the request carries; omitted
// parts are kept.
func (s *Server) kbModIntent(c *call, st *State) (any, error) {
	var req kf.ModifyIntentRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	kb := &st.kb
	in, err := kb.intent(req.IntentID)
	if err != nil {
		return nil, err
	}
	ni := *in
	if req.Question != nil {
		if kb.questionTaken(req.Question.Text.Content, in.id) {
			return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid question: an intent asks it already")
		}
		ni.question = *req.Question
	}
	if req.SimilarQuestions != nil {
		ni.similar = kf.IntentSimilarQuestions{Items: slices.Clone(req.SimilarQuestions.Items)}
	}
	if len(req.Answers) > 0 {
		if ni.answers, err = kbStoreAnswers(st, req.Answers, c.now); err != nil {
			return nil, err
		}
	}
	kb.intents[in.id] = &ni
	return nil, nil
}

func (s *Server) kbListIntent(c *call, st *State) (any, error) {
	var req kf.ListIntentsRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	kb := &st.kb
	from, err := kbPosition(req.Cursor)
	if err != nil {
		return nil, err
	}
	if req.GroupID != "" {
		if _, err := kb.group(req.GroupID); err != nil {
			return nil, err
		}
	}
	if req.IntentID != "" {
		if _, err := kb.intent(req.IntentID); err != nil {
			return nil, err
		}
	}
	limit := kbLimit(req.Limit)
	out := kf.ListIntentsResponse{Intents: []kf.Intent{}}
	for _, id := range kb.intentOrder {
		in := kb.intents[id]
		if in.seq < from || (req.GroupID != "" && in.groupID != req.GroupID) || (req.IntentID != "" && id != req.IntentID) {
			continue
		}
		if len(out.Intents) == limit {
			out.HasMore, out.NextCursor = true, kbCursor(in.seq)
			break
		}
		out.Intents = append(out.Intents, kf.Intent{GroupID: in.groupID, IntentID: in.id,
			Question: in.question, SimilarQuestions: in.similar, Answers: in.answers})
	}
	return out, nil
}
