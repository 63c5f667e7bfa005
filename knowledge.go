package kf

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"unicode/utf8"
)

// Knowledge base (机器人知识库): groups (doc 95971) and intents, i.e.
// question-and-answer pairs (doc 95972); shared/api-surface.md §1.11. Only
// self-built apps may call these endpoints.

const (
	opKBAddGroup   = "kf/knowledge/add_group"
	opKBDelGroup   = "kf/knowledge/del_group"
	opKBModGroup   = "kf/knowledge/mod_group"
	opKBListGroup  = "kf/knowledge/list_group"
	opKBAddIntent  = "kf/knowledge/add_intent"
	opKBDelIntent  = "kf/knowledge/del_intent"
	opKBModIntent  = "kf/knowledge/mod_intent"
	opKBListIntent = "kf/knowledge/list_intent"
	kbGroupNameMax = 12   // group name: ≤ 12 characters (doc 95971)
	kbListLimitMax = 1000 // list limit: ≤ 1000, default 500 (doc 95971; assumed for intents)
	kbMaxAnswers   = 1    // answers per intent: only 1 supported (doc 95972)
	kbPath         = "/cgi-bin/kf/knowledge/"
)

// kbFlag is a wire 0/1 integer seen as a bool. It also accepts true/false
// on input.
type kbFlag bool

// MarshalJSON encodes the flag as 0 or 1.
func (f kbFlag) MarshalJSON() ([]byte, error) {
	if f {
		return []byte("1"), nil
	}
	return []byte("0"), nil
}

// UnmarshalJSON accepts 0/1 (any non-zero integer is true), true/false and
// null (false).
func (f *kbFlag) UnmarshalJSON(b []byte) error {
	switch s := string(b); s {
	case "true":
		*f = true
	case "false", "null":
		*f = false
	default:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("kf: want 0/1 flag, got %s", s)
		}
		*f = n != 0
	}
	return nil
}

// kbCheckLimit checks a list limit (0 = the platform default, 500).
func kbCheckLimit(op string, limit int) error {
	if limit < 0 || limit > kbListLimitMax {
		return invalid(op, "limit", "%d out of range 1..%d (0 = default 500)", limit, kbListLimitMax)
	}
	return nil
}

// kbCheckGroupName checks a group name: required, at most 12 characters.
func kbCheckGroupName(op, name string) error {
	if name == "" {
		return invalid(op, "name", "required")
	}
	if !utf8.ValidString(name) {
		return invalid(op, "name", "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n > kbGroupNameMax {
		return invalid(op, "name", "longer than %d characters (%d)", kbGroupNameMax, n)
	}
	return nil
}

// kbPages iterates over a cursor-paged list: page fetches the page at
// cursor and returns its items, the next cursor and has_more. It stops after
// a page with has_more false (never on an empty page alone) and fails when
// the server hands back a cursor it already gave.
func kbPages[T any](op, cursor string, page func(cursor string) ([]T, string, bool, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		seen := map[string]bool{cursor: true}
		for {
			items, next, more, err := page(cursor)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if !more {
				return
			}
			if seen[next] {
				yield(zero, fmt.Errorf("%s: server repeated cursor %q while has_more is 1: %w", op, next, ErrRepeatedCursor))
				return
			}
			seen[next] = true
			cursor = next
		}
	}
}

// ---- groups (doc 95971) ----

// Group is a knowledge-base group.
type Group struct {
	GroupID string `json:"group_id"`
	Name    string `json:"name"`
	// IsDefault marks the system default group, which can be neither
	// renamed nor deleted (wire: is_default 0/1).
	IsDefault bool `json:"is_default"`
}

type groupWire struct {
	GroupID   string `json:"group_id"`
	Name      string `json:"name"`
	IsDefault kbFlag `json:"is_default"`
}

// MarshalJSON encodes IsDefault as 0/1.
func (g Group) MarshalJSON() ([]byte, error) {
	return json.Marshal(groupWire{g.GroupID, g.Name, kbFlag(g.IsDefault)})
}

// UnmarshalJSON decodes is_default from 0/1.
func (g *Group) UnmarshalJSON(b []byte) error {
	var w groupWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*g = Group{GroupID: w.GroupID, Name: w.Name, IsDefault: bool(w.IsDefault)}
	return nil
}

// AddGroupRequest is the request of KnowledgeService.AddGroup (doc 95971).
type AddGroupRequest struct {
	// Name is required, at most 12 characters, unique among the groups.
	Name string `json:"name"`
}

// Validate checks r against the documented limits.
func (r *AddGroupRequest) Validate() error {
	if r == nil {
		return invalid(opKBAddGroup, "request", "nil")
	}
	return kbCheckGroupName(opKBAddGroup, r.Name)
}

// AddGroupResponse is the reply of KnowledgeService.AddGroup.
type AddGroupResponse struct {
	GroupID string `json:"group_id"`
}

// AddGroup creates a knowledge-base group (knowledge/add_group, doc 95971).
// A corp has at most 100 groups. It is not retried after an unknown outcome
// (a replay would fail on the duplicate name).
func (s *KnowledgeService) AddGroup(ctx context.Context, req *AddGroupRequest) (*AddGroupResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out AddGroupResponse
	if err := (*service)(s).post(ctx, opKBAddGroup, kbPath+"add_group", req, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteGroupRequest is the request of KnowledgeService.DeleteGroup.
type DeleteGroupRequest struct {
	GroupID string `json:"group_id"` // required
}

// Validate checks that group_id is set.
func (r *DeleteGroupRequest) Validate() error {
	if r == nil {
		return invalid(opKBDelGroup, "request", "nil")
	}
	return kfCheckRequired(opKBDelGroup, "group_id", r.GroupID)
}

// DeleteGroup deletes a group and its intents (knowledge/del_group, doc
// 95971). The default group cannot be deleted.
func (s *KnowledgeService) DeleteGroup(ctx context.Context, req *DeleteGroupRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opKBDelGroup, kbPath+"del_group", req, nil, true)
}

// ModifyGroupRequest is the request of KnowledgeService.ModifyGroup.
type ModifyGroupRequest struct {
	GroupID string `json:"group_id"` // required
	Name    string `json:"name"`     // required, at most 12 characters
}

// Validate checks r against the documented limits.
func (r *ModifyGroupRequest) Validate() error {
	if r == nil {
		return invalid(opKBModGroup, "request", "nil")
	}
	if err := kfCheckRequired(opKBModGroup, "group_id", r.GroupID); err != nil {
		return err
	}
	return kbCheckGroupName(opKBModGroup, r.Name)
}

// ModifyGroup renames a group (knowledge/mod_group, doc 95971). The default
// group cannot be renamed.
func (s *KnowledgeService) ModifyGroup(ctx context.Context, req *ModifyGroupRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opKBModGroup, kbPath+"mod_group", req, nil, true)
}

// ListGroupsRequest is the request of KnowledgeService.ListGroups.
type ListGroupsRequest struct {
	// Cursor is the next_cursor of the previous page; empty for the first.
	Cursor string `json:"cursor,omitempty"`
	// Limit is the page size, 1..1000; 0 means the platform default, 500.
	Limit int `json:"limit,omitempty"`
	// GroupID, when set, asks for that group only.
	GroupID string `json:"group_id,omitempty"`
}

// Validate checks r against the documented limits (a nil r is valid).
func (r *ListGroupsRequest) Validate() error {
	if r == nil {
		return nil
	}
	return kbCheckLimit(opKBListGroup, r.Limit)
}

// ListGroupsResponse is the reply of KnowledgeService.ListGroups.
type ListGroupsResponse struct {
	NextCursor string `json:"next_cursor"`
	// HasMore reports that another page follows (wire: has_more 0/1).
	HasMore bool    `json:"has_more"`
	Groups  []Group `json:"group_list"`
}

type listGroupsWire struct {
	NextCursor string  `json:"next_cursor"`
	HasMore    kbFlag  `json:"has_more"`
	Groups     []Group `json:"group_list"`
}

// MarshalJSON encodes HasMore as 0/1.
func (r ListGroupsResponse) MarshalJSON() ([]byte, error) {
	return json.Marshal(listGroupsWire{r.NextCursor, kbFlag(r.HasMore), r.Groups})
}

// UnmarshalJSON decodes has_more from 0/1.
func (r *ListGroupsResponse) UnmarshalJSON(b []byte) error {
	var w listGroupsWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = ListGroupsResponse{NextCursor: w.NextCursor, HasMore: bool(w.HasMore), Groups: w.Groups}
	return nil
}

// ListGroups returns one page of knowledge-base groups
// (knowledge/list_group, doc 95971). A nil req asks for the first page.
// AllGroups walks every page.
func (s *KnowledgeService) ListGroups(ctx context.Context, req *ListGroupsRequest) (*ListGroupsResponse, error) {
	if req == nil {
		req = &ListGroupsRequest{}
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out ListGroupsResponse
	if err := (*service)(s).post(ctx, opKBListGroup, kbPath+"list_group", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllGroups iterates over every group, starting at req.Cursor (req may be
// nil; it is copied, not modified) and following next_cursor while has_more
// is 1. It yields a non-nil error at most once, as its last value, also when
// the server repeats a cursor.
func (s *KnowledgeService) AllGroups(ctx context.Context, req *ListGroupsRequest) iter.Seq2[Group, error] {
	var r ListGroupsRequest
	if req != nil {
		r = *req
	}
	return kbPages(opKBListGroup, r.Cursor, func(cursor string) ([]Group, string, bool, error) {
		page := r
		page.Cursor = cursor
		resp, err := s.ListGroups(ctx, &page)
		if err != nil {
			return nil, "", false, err
		}
		return resp.Groups, resp.NextCursor, resp.HasMore, nil
	})
}

// ---- intents (doc 95972) ----

// IntentText is a text content: {"content": "..."}.
type IntentText struct {
	Content string `json:"content"`
}

// IntentQuestion is a question: {"text": {"content": "..."}}.
type IntentQuestion struct {
	Text IntentText `json:"text"`
}

// IntentSimilarQuestions is the list of alternative wordings of a question.
type IntentSimilarQuestions struct {
	Items []IntentQuestion `json:"items"`
}

// IntentAnswer is the answer of an intent: a text and optional attachments.
type IntentAnswer struct {
	Text        IntentText         `json:"text"`
	Attachments []IntentAttachment `json:"attachments,omitempty"`
}

// IntentAttachment is an attachment of an answer. Exactly one of the pointer
// fields is set, matching MsgType (image, video, link or miniprogram). Build
// attachments with ImageAttachment, VideoAttachment, LinkAttachment and
// MiniProgramAttachment.
type IntentAttachment struct {
	MsgType     MsgType            `json:"msgtype"`
	Image       *IntentMedia       `json:"image,omitempty"`
	Video       *IntentMedia       `json:"video,omitempty"`
	Link        *IntentLink        `json:"link,omitempty"`
	MiniProgram *IntentMiniProgram `json:"miniprogram,omitempty"`
}

// IntentMedia is an image or video attachment. Requests carry MediaID (a
// temporary media id, see MediaService.Upload); list_intent replies carry
// Name (the file name) instead.
type IntentMedia struct {
	MediaID string `json:"media_id,omitempty"`
	Name    string `json:"name,omitempty"`
}

// IntentLink is a link (图文) attachment.
type IntentLink struct {
	Title string `json:"title"`
	// PicURL is the cover picture. The doc and most SDKs spell the key
	// pic_url (one SDK uses picurl).
	PicURL string `json:"pic_url,omitempty"`
	Desc   string `json:"desc,omitempty"`
	URL    string `json:"url"`
}

// IntentMiniProgram is a mini-program attachment. list_intent replies omit
// ThumbMediaID.
type IntentMiniProgram struct {
	Title        string `json:"title,omitempty"`
	ThumbMediaID string `json:"thumb_media_id,omitempty"`
	AppID        string `json:"appid"`
	PagePath     string `json:"pagepath"`
}

// ImageAttachment returns an image attachment of a temporary media id.
func ImageAttachment(mediaID string) IntentAttachment {
	return IntentAttachment{MsgType: MsgTypeImage, Image: &IntentMedia{MediaID: mediaID}}
}

// VideoAttachment returns a video attachment of a temporary media id.
func VideoAttachment(mediaID string) IntentAttachment {
	return IntentAttachment{MsgType: MsgTypeVideo, Video: &IntentMedia{MediaID: mediaID}}
}

// LinkAttachment returns a link attachment.
func LinkAttachment(l IntentLink) IntentAttachment {
	return IntentAttachment{MsgType: MsgTypeLink, Link: &l}
}

// MiniProgramAttachment returns a mini-program attachment.
func MiniProgramAttachment(mp IntentMiniProgram) IntentAttachment {
	return IntentAttachment{MsgType: MsgTypeMiniProgram, MiniProgram: &mp}
}

// Intent is a question-and-answer pair as returned by list_intent.
type Intent struct {
	GroupID          string                 `json:"group_id"`
	IntentID         string                 `json:"intent_id"`
	Question         IntentQuestion         `json:"question"`
	SimilarQuestions IntentSimilarQuestions `json:"similar_questions,omitzero"`
	Answers          []IntentAnswer         `json:"answers,omitempty"`
}

// kbCheckQuestion checks a question: its content is required.
func kbCheckQuestion(op, field string, q *IntentQuestion) error {
	if q.Text.Content == "" {
		return invalid(op, field+".text.content", "required")
	}
	return nil
}

// kbCheckSimilar checks similar questions: each needs a content. No count
// limit is documented.
func kbCheckSimilar(op string, sq *IntentSimilarQuestions) error {
	for i := range sq.Items {
		if err := kbCheckQuestion(op, "similar_questions.items["+strconv.Itoa(i)+"]", &sq.Items[i]); err != nil {
			return err
		}
	}
	return nil
}

// kbCheckAnswers checks answers. The platform supports exactly one answer
// per intent; more are refused. Whether an answer is required, and whether
// an answer may consist of attachments only, is unconfirmed, so neither is
// enforced. The number of attachments per answer is undocumented and not
// limited here.
func kbCheckAnswers(op string, answers []IntentAnswer) error {
	if len(answers) > kbMaxAnswers {
		return invalid(op, "answers", "%d answers; the platform supports %d", len(answers), kbMaxAnswers)
	}
	for i, a := range answers {
		for j := range a.Attachments {
			field := "answers[" + strconv.Itoa(i) + "].attachments[" + strconv.Itoa(j) + "]"
			if err := kbCheckAttachment(op, field, &a.Attachments[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// kbCheckAttachment checks that the payload matching msgtype is present and
// carries its identifying fields.
func kbCheckAttachment(op, field string, a *IntentAttachment) error {
	missing := func(name string) error { return invalid(op, field+"."+name, "required") }
	switch a.MsgType {
	case MsgTypeImage, MsgTypeVideo:
		m := a.Image
		if a.MsgType == MsgTypeVideo {
			m = a.Video
		}
		if m == nil {
			return missing(string(a.MsgType))
		}
		if m.MediaID == "" {
			return missing(string(a.MsgType) + ".media_id")
		}
	case MsgTypeLink:
		switch {
		case a.Link == nil:
			return missing("link")
		case a.Link.Title == "":
			return missing("link.title")
		case a.Link.URL == "":
			return missing("link.url")
		}
	case MsgTypeMiniProgram:
		switch {
		case a.MiniProgram == nil:
			return missing("miniprogram")
		case a.MiniProgram.AppID == "":
			return missing("miniprogram.appid")
		case a.MiniProgram.ThumbMediaID == "":
			return missing("miniprogram.thumb_media_id")
		case a.MiniProgram.PagePath == "":
			return missing("miniprogram.pagepath")
		}
	case "":
		return missing("msgtype")
	default:
		return invalid(op, field+".msgtype", "%q is not image, video, link or miniprogram", a.MsgType)
	}
	return nil
}

// AddIntentRequest is the request of KnowledgeService.AddIntent (doc 95972).
type AddIntentRequest struct {
	GroupID string `json:"group_id"` // required
	// Question is required and unique across all groups.
	Question         IntentQuestion         `json:"question"`
	SimilarQuestions IntentSimilarQuestions `json:"similar_questions,omitzero"`
	// Answers holds the answer; the platform supports exactly one.
	Answers []IntentAnswer `json:"answers,omitempty"`
}

// Validate checks r against the documented limits.
func (r *AddIntentRequest) Validate() error {
	if r == nil {
		return invalid(opKBAddIntent, "request", "nil")
	}
	if err := kfCheckRequired(opKBAddIntent, "group_id", r.GroupID); err != nil {
		return err
	}
	if err := kbCheckQuestion(opKBAddIntent, "question", &r.Question); err != nil {
		return err
	}
	if err := kbCheckSimilar(opKBAddIntent, &r.SimilarQuestions); err != nil {
		return err
	}
	return kbCheckAnswers(opKBAddIntent, r.Answers)
}

// AddIntentResponse is the reply of KnowledgeService.AddIntent.
type AddIntentResponse struct {
	IntentID string `json:"intent_id"`
}

// AddIntent adds a question-and-answer pair to a group
// (knowledge/add_intent, doc 95972). A group holds at most 200 intents. It
// is not retried after an unknown outcome.
func (s *KnowledgeService) AddIntent(ctx context.Context, req *AddIntentRequest) (*AddIntentResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out AddIntentResponse
	if err := (*service)(s).post(ctx, opKBAddIntent, kbPath+"add_intent", req, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteIntentRequest is the request of KnowledgeService.DeleteIntent.
type DeleteIntentRequest struct {
	IntentID string `json:"intent_id"` // required
}

// Validate checks that intent_id is set.
func (r *DeleteIntentRequest) Validate() error {
	if r == nil {
		return invalid(opKBDelIntent, "request", "nil")
	}
	return kfCheckRequired(opKBDelIntent, "intent_id", r.IntentID)
}

// DeleteIntent deletes an intent (knowledge/del_intent, doc 95972).
func (s *KnowledgeService) DeleteIntent(ctx context.Context, req *DeleteIntentRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opKBDelIntent, kbPath+"del_intent", req, nil, true)
}

// ModifyIntentRequest is the request of KnowledgeService.ModifyIntent. Nil
// or empty fields are not sent; whether the platform then keeps or clears
// them is unconfirmed, so send every part you want to keep.
type ModifyIntentRequest struct {
	IntentID         string                  `json:"intent_id"` // required
	Question         *IntentQuestion         `json:"question,omitempty"`
	SimilarQuestions *IntentSimilarQuestions `json:"similar_questions,omitempty"`
	// Answers holds the answer; the platform supports exactly one.
	Answers []IntentAnswer `json:"answers,omitempty"`
}

// Validate checks r against the documented limits.
func (r *ModifyIntentRequest) Validate() error {
	if r == nil {
		return invalid(opKBModIntent, "request", "nil")
	}
	if err := kfCheckRequired(opKBModIntent, "intent_id", r.IntentID); err != nil {
		return err
	}
	if r.Question != nil {
		if err := kbCheckQuestion(opKBModIntent, "question", r.Question); err != nil {
			return err
		}
	}
	if r.SimilarQuestions != nil {
		if err := kbCheckSimilar(opKBModIntent, r.SimilarQuestions); err != nil {
			return err
		}
	}
	return kbCheckAnswers(opKBModIntent, r.Answers)
}

// ModifyIntent changes an intent (knowledge/mod_intent, doc 95972).
func (s *KnowledgeService) ModifyIntent(ctx context.Context, req *ModifyIntentRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opKBModIntent, kbPath+"mod_intent", req, nil, true)
}

// ListIntentsRequest is the request of KnowledgeService.ListIntents.
type ListIntentsRequest struct {
	// Cursor is the next_cursor of the previous page; empty for the first.
	Cursor string `json:"cursor,omitempty"`
	// Limit is the page size, 1..1000; 0 means the platform default (the
	// doc gives 500 and 1000 for groups; assumed the same for intents).
	Limit int `json:"limit,omitempty"`
	// GroupID, when set, lists the intents of that group only.
	GroupID string `json:"group_id,omitempty"`
	// IntentID, when set, asks for that intent only.
	IntentID string `json:"intent_id,omitempty"`
}

// Validate checks r against the documented limits (a nil r is valid).
func (r *ListIntentsRequest) Validate() error {
	if r == nil {
		return nil
	}
	return kbCheckLimit(opKBListIntent, r.Limit)
}

// ListIntentsResponse is the reply of KnowledgeService.ListIntents.
type ListIntentsResponse struct {
	NextCursor string `json:"next_cursor"`
	// HasMore reports that another page follows (wire: has_more 0/1).
	HasMore bool     `json:"has_more"`
	Intents []Intent `json:"intent_list"`
}

type listIntentsWire struct {
	NextCursor string   `json:"next_cursor"`
	HasMore    kbFlag   `json:"has_more"`
	Intents    []Intent `json:"intent_list"`
}

// MarshalJSON encodes HasMore as 0/1.
func (r ListIntentsResponse) MarshalJSON() ([]byte, error) {
	return json.Marshal(listIntentsWire{r.NextCursor, kbFlag(r.HasMore), r.Intents})
}

// UnmarshalJSON decodes has_more from 0/1.
func (r *ListIntentsResponse) UnmarshalJSON(b []byte) error {
	var w listIntentsWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = ListIntentsResponse{NextCursor: w.NextCursor, HasMore: bool(w.HasMore), Intents: w.Intents}
	return nil
}

// ListIntents returns one page of intents (knowledge/list_intent, doc
// 95972). A nil req asks for the first page. AllIntents walks every page.
func (s *KnowledgeService) ListIntents(ctx context.Context, req *ListIntentsRequest) (*ListIntentsResponse, error) {
	if req == nil {
		req = &ListIntentsRequest{}
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out ListIntentsResponse
	if err := (*service)(s).post(ctx, opKBListIntent, kbPath+"list_intent", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllIntents iterates over every intent, starting at req.Cursor (req may be
// nil; it is copied, not modified) and following next_cursor while has_more
// is 1. It yields a non-nil error at most once, as its last value, also when
// the server repeats a cursor.
func (s *KnowledgeService) AllIntents(ctx context.Context, req *ListIntentsRequest) iter.Seq2[Intent, error] {
	var r ListIntentsRequest
	if req != nil {
		r = *req
	}
	return kbPages(opKBListIntent, r.Cursor, func(cursor string) ([]Intent, string, bool, error) {
		page := r
		page.Cursor = cursor
		resp, err := s.ListIntents(ctx, &page)
		if err != nil {
			return nil, "", false, err
		}
		return resp.Intents, resp.NextCursor, resp.HasMore, nil
	})
}
