package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
)

// sendTarget holds the flags common to every send subcommand.
type sendTarget struct {
	openKfID string
	to       string
	msgID    string
}

func newSendCmd(a *app) *cobra.Command {
	var t sendTarget
	var jsonFile string
	c := &cobra.Command{
		Use:   "send (TYPE [flags] | --json FILE) --open-kfid ID --customer EXTERNAL_USERID",
		Short: "Send a message to a customer (send_msg)",
		Long: `Send a message to a customer (send_msg): build it from flags with a TYPE
subcommand, or give the whole send_msg request body as JSON with --json FILE
(- reads stdin). With --json, --open-kfid, --customer and --msgid given on the
command line replace the file's touser, open_kfid and msgid; taken from the
environment they only fill what the file leaves empty.

Sending is allowed while the session is in state 0 or 1, within 48 h of the
customer's last message, and at most 5 messages per customer message.`,
		Example: `  kfctl send text --open-kfid wkXXX --customer wmYYY "Hello!"
  kfctl send image --open-kfid wkXXX --customer wmYYY --file photo.jpg
  kfctl send menu --open-kfid wkXXX --customer wmYYY --head "How can we help?" \
      --click 101=Orders --click 102=Refunds --view "https://example.com/faq=FAQ"
  kfctl send --json request.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if jsonFile != "" || cmd.Flags().Changed("json") {
				return nil
			}
			return groupArgs(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if jsonFile == "" {
				if len(args) > 0 {
					return usagef("%s: unexpected arguments with --json", cmd.CommandPath())
				}
				return cmd.Help()
			}
			if len(args) > 0 {
				return usagef("%s: unexpected arguments with --json", cmd.CommandPath())
			}
			req, err := readSendJSON(cmd, jsonFile)
			if err != nil {
				return err
			}
			for _, f := range []struct {
				name string
				dst  *string
				val  string
			}{{"open-kfid", &req.OpenKfID, t.openKfID}, {"customer", &req.ToUser, t.to}, {"msgid", &req.MsgID, t.msgID}} {
				if f.val != "" && (a.explicit(cmd, f.name) || *f.dst == "") {
					*f.dst = f.val
				}
			}
			return a.send(cmd, req)
		},
	}
	c.GroupID = groupAPI
	pf := c.PersistentFlags()
	pf.StringVar(&t.openKfID, "open-kfid", "", "the sending KF account (open_kfid)")
	pf.StringVar(&t.to, "customer", "", "the customer (external_userid, touser)")
	pf.StringVar(&t.msgID, "msgid", "", "message id, at most 32 bytes of [0-9a-zA-Z_-] (default: generated); reusing one makes a retry safe")
	c.Flags().StringVar(&jsonFile, "json", "", "`FILE` holding the send_msg request body (- for stdin)")

	c.AddCommand(
		newSendTextCmd(a, &t),
		newSendMediaCmd(a, &t, kf.MediaTypeImage),
		newSendMediaCmd(a, &t, kf.MediaTypeVoice),
		newSendMediaCmd(a, &t, kf.MediaTypeVideo),
		newSendMediaCmd(a, &t, kf.MediaTypeFile),
		newSendLinkCmd(a, &t),
		newSendMiniProgramCmd(a, &t),
		newSendMenuCmd(a, &t),
		newSendLocationCmd(a, &t),
		newSendCALinkCmd(a, &t),
	)
	return c
}

// readSendJSON reads a send_msg request body from a file or stdin.
func readSendJSON(cmd *cobra.Command, name string) (*kf.SendMsgRequest, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(cmd.InOrStdin())
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	var req kf.SendMsgRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, usagef("--json %s: %v", name, err)
	}
	return &req, nil
}

// request returns the send_msg request for msg.
func (t *sendTarget) request(msg kf.Outgoing) *kf.SendMsgRequest {
	return &kf.SendMsgRequest{ToUser: t.to, OpenKfID: t.openKfID, MsgID: t.msgID, Msg: msg}
}

// send sends req and prints the msgid.
func (a *app) send(cmd *cobra.Command, req *kf.SendMsgRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	c, err := a.kfClient()
	if err != nil {
		return err
	}
	return a.sendWith(cmd.Context(), c, req)
}

func (a *app) sendWith(ctx context.Context, c *kf.Client, req *kf.SendMsgRequest) error {
	res, err := c.Messages.Send(ctx, req)
	if err != nil {
		return err
	}
	return a.showKV(res, "msgid", res.MsgID)
}

// placeholderMediaID stands for a media_id that is uploaded only after the
// rest of the request was validated, so that nothing is sent for a request
// that would be refused.
const placeholderMediaID = "pending-upload"

// sendWithUploads validates req (with placeholders for the files still to
// upload), uploads each file and puts its media_id in place, then sends.
func (a *app) sendWithUploads(cmd *cobra.Command, req *kf.SendMsgRequest, build func(ids []string) kf.Outgoing, uploads []upload) error {
	ids := make([]string, len(uploads))
	for i, u := range uploads {
		ids[i] = u.mediaID
		if u.file != "" {
			ids[i] = placeholderMediaID
		}
	}
	req.Msg = build(ids)
	if err := req.Validate(); err != nil {
		return err
	}
	c, err := a.kfClient()
	if err != nil {
		return err
	}
	for i, u := range uploads {
		if u.file == "" {
			continue
		}
		res, err := uploadFile(cmd.Context(), c, u.typ, u.file)
		if err != nil {
			return err
		}
		ids[i] = res.MediaID
	}
	req.Msg = build(ids)
	return a.sendWith(cmd.Context(), c, req)
}

// upload is a media_id given directly, or a file to upload as typ.
type upload struct {
	mediaID string
	file    string
	typ     kf.MediaType
}

func newSendTextCmd(a *app, t *sendTarget) *cobra.Command {
	var content string
	cmd := &cobra.Command{
		Use:   "text [TEXT] [--content TEXT]",
		Short: "Send a text (at most 2048 bytes)",
		Args:  args(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if cmd.Flags().Changed("content") && !a.fromEnv["content"] {
					return usagef("%s: give the text as an argument or with --content, not both", cmd.CommandPath())
				}
				content = args[0]
			}
			return a.send(cmd, t.request(kf.TextMsg(content)))
		},
	}
	cmd.Flags().StringVar(&content, "content", "", "the text")
	return cmd
}

func newSendMediaCmd(a *app, t *sendTarget, typ kf.MediaType) *cobra.Command {
	var file string
	build := map[kf.MediaType]func(string) kf.Outgoing{
		kf.MediaTypeImage: kf.ImageMsg, kf.MediaTypeVoice: kf.VoiceMsg,
		kf.MediaTypeVideo: kf.VideoMsg, kf.MediaTypeFile: kf.FileMsg,
	}[typ]
	cmd := &cobra.Command{
		Use:   fmt.Sprintf("%s (MEDIA_ID | --file FILE)", typ),
		Short: fmt.Sprintf("Send %s %s (a media_id, or a file uploaded first)", article(string(typ)), typ),
		Args:  args(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u := upload{file: file, typ: typ}
			switch {
			case len(args) == 1 && file != "":
				return usagef("%s: give MEDIA_ID or --file, not both", cmd.CommandPath())
			case len(args) == 1:
				u.mediaID = args[0]
			case file == "":
				return usagef("%s: give MEDIA_ID or --file", cmd.CommandPath())
			}
			return a.sendWithUploads(cmd, t.request(kf.Outgoing{}),
				func(ids []string) kf.Outgoing { return build(ids[0]) }, []upload{u})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "`FILE` to upload and send")
	return cmd
}

func article(s string) string {
	if strings.ContainsRune("aeiou", rune(s[0])) {
		return "an"
	}
	return "a"
}

func newSendLinkCmd(a *app, t *sendTarget) *cobra.Command {
	var link kf.OutgoingLink
	var thumb string
	cmd := &cobra.Command{
		Use:   "link --url URL --title TITLE [--desc DESC] (--thumb-media-id ID | --thumb FILE)",
		Short: "Send a link card (图文链接)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := exclusive(cmd, "thumb-media-id", "thumb"); err != nil {
				return err
			}
			return a.sendWithUploads(cmd, t.request(kf.Outgoing{}), func(ids []string) kf.Outgoing {
				l := link
				l.ThumbMediaID = ids[0]
				return kf.LinkMsg(l)
			}, []upload{{mediaID: link.ThumbMediaID, file: thumb, typ: kf.MediaTypeImage}})
		},
	}
	f := cmd.Flags()
	f.StringVar(&link.URL, "url", "", "the link's URL (http or https)")
	f.StringVar(&link.Title, "title", "", "title")
	f.StringVar(&link.Desc, "desc", "", "description")
	f.StringVar(&link.ThumbMediaID, "thumb-media-id", "", "media_id of the thumbnail image")
	f.StringVar(&thumb, "thumb", "", "thumbnail image `FILE` to upload")
	return cmd
}

func newSendMiniProgramCmd(a *app, t *sendTarget) *cobra.Command {
	var m kf.OutgoingMiniProgram
	var thumb string
	cmd := &cobra.Command{
		Use:     "miniprogram --appid APPID --pagepath PATH [--title TITLE] (--thumb-media-id ID | --thumb FILE)",
		Aliases: []string{"mini-program"},
		Short:   "Send a mini program card",
		Args:    args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := exclusive(cmd, "thumb-media-id", "thumb"); err != nil {
				return err
			}
			return a.sendWithUploads(cmd, t.request(kf.Outgoing{}), func(ids []string) kf.Outgoing {
				mm := m
				mm.ThumbMediaID = ids[0]
				return kf.MiniProgramMsg(mm)
			}, []upload{{mediaID: m.ThumbMediaID, file: thumb, typ: kf.MediaTypeImage}})
		},
	}
	f := cmd.Flags()
	f.StringVar(&m.AppID, "appid", "", "the mini program's appid")
	f.StringVar(&m.PagePath, "pagepath", "", "the page to open")
	f.StringVar(&m.Title, "title", "", "title")
	f.StringVar(&m.ThumbMediaID, "thumb-media-id", "", "media_id of the thumbnail image")
	f.StringVar(&thumb, "thumb", "", "thumbnail image `FILE` to upload")
	return cmd
}

// menuItemFlag is a flag that appends one kind of menu item to a list shared
// by all the item flags, so that the items keep their command-line order.
type menuItemFlag struct {
	items *[]kf.MenuItem
	kind  kf.MenuItemType
}

func (f menuItemFlag) String() string { return "" }
func (f menuItemFlag) Type() string   { return "string" }

func (f menuItemFlag) Set(v string) error {
	var it kf.MenuItem
	switch f.kind {
	case kf.MenuItemClick: // ID=CONTENT
		id, content, ok := strings.Cut(v, "=")
		if !ok || id == "" || content == "" {
			return fmt.Errorf("%q is not ID=CONTENT", v)
		}
		it = kf.ClickItem(id, content)
	case kf.MenuItemView: // URL=CONTENT (the last "=")
		i := strings.LastIndex(v, "=")
		if i <= 0 || i == len(v)-1 {
			return fmt.Errorf("%q is not URL=CONTENT", v)
		}
		it = kf.ViewItem(v[:i], v[i+1:])
	case kf.MenuItemMiniProgram: // APPID:PAGEPATH=CONTENT
		appID, rest, ok := strings.Cut(v, ":")
		i := strings.LastIndex(rest, "=")
		if !ok || appID == "" || i <= 0 || i == len(rest)-1 {
			return fmt.Errorf("%q is not APPID:PAGEPATH=CONTENT", v)
		}
		it = kf.MiniProgramItem(appID, rest[:i], rest[i+1:])
	default: // text
		if v == "" {
			return fmt.Errorf("empty text")
		}
		it = kf.TextItem(v, false)
	}
	*f.items = append(*f.items, it)
	return nil
}

func newSendMenuCmd(a *app, t *sendTarget) *cobra.Command {
	var head, tail string
	var items []kf.MenuItem
	cmd := &cobra.Command{
		Use:     "menu [--head TEXT] [--tail TEXT] (--click ID=CONTENT | --view URL=CONTENT | --miniprogram APPID:PAGEPATH=CONTENT | --text TEXT)...",
		Aliases: []string{"msgmenu"},
		Short:   "Send a menu (msgmenu) of 1 to 10 items, in the order given",
		Long: `Send a menu (msgmenu). Items appear in the order of the flags:
  --click ID=CONTENT                   a click item; the customer's click comes back as a text with menu_id ID
  --view URL=CONTENT                   a link (split at the last "=")
  --miniprogram APPID:PAGEPATH=CONTENT a mini program page
  --text TEXT                          plain text`,
		Args: args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.send(cmd, t.request(kf.MenuMsg(head, tail, items...)))
		},
	}
	f := cmd.Flags()
	f.StringVar(&head, "head", "", "text above the items")
	f.StringVar(&tail, "tail", "", "text below the items")
	f.Var(menuItemFlag{&items, kf.MenuItemClick}, "click", "click item `ID=CONTENT` (repeatable)")
	f.Var(menuItemFlag{&items, kf.MenuItemView}, "view", "link item `URL=CONTENT` (repeatable)")
	f.Var(menuItemFlag{&items, kf.MenuItemMiniProgram}, "miniprogram", "mini program item `APPID:PAGEPATH=CONTENT` (repeatable)")
	f.Var(menuItemFlag{&items, kf.MenuItemText}, "text", "text item (repeatable)")
	return cmd
}

func newSendLocationCmd(a *app, t *sendTarget) *cobra.Command {
	var name, address string
	var lat, lng float64
	cmd := &cobra.Command{
		Use:   "location --latitude LAT --longitude LNG [--place NAME] [--address ADDRESS]",
		Short: "Send a location",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("latitude") || !cmd.Flags().Changed("longitude") {
				return usagef("%s: give --latitude and --longitude", cmd.CommandPath())
			}
			return a.send(cmd, t.request(kf.LocationMsg(name, address, lat, lng)))
		},
	}
	f := cmd.Flags()
	f.Float64Var(&lat, "latitude", 0, "latitude, -90..90")
	f.Float64Var(&lng, "longitude", 0, "longitude, -180..180")
	f.StringVar(&name, "place", "", "place name")
	f.StringVar(&address, "address", "", "address")
	return cmd
}

func newSendCALinkCmd(a *app, t *sendTarget) *cobra.Command {
	var linkURL string
	cmd := &cobra.Command{
		Use:     "ca_link --url URL",
		Aliases: []string{"ca-link", "calink"},
		Short:   "Send an acquisition link (获客链接, ca_link)",
		Args:    args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.send(cmd, t.request(kf.CALinkMsg(linkURL)))
		},
	}
	cmd.Flags().StringVar(&linkURL, "url", "", "the acquisition link (https)")
	return cmd
}
