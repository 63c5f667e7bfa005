package main

import (
	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
)

func newAccountCmd(a *app) *cobra.Command {
	c := group("account", "Manage KF accounts (客服账号) and their contact links",
		newAccountListCmd(a),
		newAccountAddCmd(a),
		newAccountUpdateCmd(a),
		newAccountDeleteCmd(a),
		newAccountLinkCmd(a),
	)
	c.GroupID = groupAPI
	return c
}

func newAccountListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the KF accounts (account/list, every page)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			accounts := []kf.Account{}
			t := newTable("OPEN_KFID", "NAME", "MANAGED", "AVATAR")
			for acc, err := range c.Accounts.All(cmd.Context(), 0) {
				if err != nil {
					return err
				}
				accounts = append(accounts, acc)
				t.row(acc.OpenKfID, acc.Name, acc.ManagePrivilege, acc.Avatar)
			}
			return a.show(accounts, t)
		},
	}
}

// avatarFlags are --media-id and --avatar FILE (uploaded as an image).
type avatarFlags struct {
	mediaID string
	file    string
}

func (f *avatarFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.mediaID, "media-id", "", "media_id of the avatar image (media upload --type image)")
	cmd.Flags().StringVar(&f.file, "avatar", "", "avatar image `FILE` to upload (instead of --media-id)")
}

func (f *avatarFlags) check(cmd *cobra.Command) error { return exclusive(cmd, "media-id", "avatar") }

// resolve uploads the avatar file, if any, and returns the media_id.
func (f *avatarFlags) resolve(cmd *cobra.Command, c *kf.Client) (string, error) {
	if f.file == "" {
		return f.mediaID, nil
	}
	up, err := uploadFile(cmd.Context(), c, kf.MediaTypeImage, f.file)
	if err != nil {
		return "", err
	}
	return up.MediaID, nil
}

func newAccountAddCmd(a *app) *cobra.Command {
	var name string
	var av avatarFlags
	cmd := &cobra.Command{
		Use:   "add --name NAME (--media-id ID | --avatar FILE)",
		Short: "Add a KF account (account/add)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := need(cmd, "name"); err != nil {
				return err
			}
			if err := av.check(cmd); err != nil {
				return err
			}
			if av.mediaID == "" && av.file == "" {
				return usagef("%s: give --media-id or --avatar", cmd.CommandPath())
			}
			req := &kf.AddAccountRequest{Name: name, MediaID: av.mediaID}
			if av.file != "" {
				// Validate the rest now, before the upload; the real
				// media_id replaces the placeholder below.
				req.MediaID = placeholderMediaID
			}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			if req.MediaID, err = av.resolve(cmd, c); err != nil {
				return err
			}
			res, err := c.Accounts.Add(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.showKV(res, "open_kfid", res.OpenKfID)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "account name (at most 16 characters)")
	av.register(cmd)
	return cmd
}

func newAccountUpdateCmd(a *app) *cobra.Command {
	var name string
	var av avatarFlags
	cmd := &cobra.Command{
		Use:   "update OPEN_KFID [--name NAME] [--media-id ID | --avatar FILE]",
		Short: "Change a KF account's name or avatar (account/update)",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := av.check(cmd); err != nil {
				return err
			}
			req := &kf.UpdateAccountRequest{OpenKfID: args[0], Name: name, MediaID: av.mediaID}
			if av.file != "" {
				req.MediaID = placeholderMediaID
			}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			if req.MediaID, err = av.resolve(cmd, c); err != nil {
				return err
			}
			if err := c.Accounts.Update(cmd.Context(), req); err != nil {
				return err
			}
			return a.showKV(map[string]string{"open_kfid": req.OpenKfID, "status": "updated"},
				"open_kfid", req.OpenKfID, "status", "updated")
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new name (at most 16 characters)")
	av.register(cmd)
	return cmd
}

func newAccountDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete OPEN_KFID",
		Aliases: []string{"del", "rm"},
		Short:   "Delete a KF account (account/del)",
		Args:    args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &kf.DeleteAccountRequest{OpenKfID: args[0]}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			if err := c.Accounts.Delete(cmd.Context(), req); err != nil {
				return err
			}
			return a.showKV(map[string]string{"open_kfid": req.OpenKfID, "status": "deleted"},
				"open_kfid", req.OpenKfID, "status", "deleted")
		},
	}
}

func newAccountLinkCmd(a *app) *cobra.Command {
	var scene, sceneParam string
	cmd := &cobra.Command{
		Use:   "link OPEN_KFID [--scene SCENE [--scene-param PARAM]]",
		Short: "Get the contact link of a KF account (add_contact_way)",
		Long: `Get the contact link (客服链接) of a KF account. With --scene the link reports the
scene in the enter_session event; --scene-param appends a scene_param to such a
link (it needs --scene).`,
		Args: args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sceneParam != "" && scene == "" {
				return usagef("%s: --scene-param needs --scene", cmd.CommandPath())
			}
			req := &kf.ContactWayRequest{OpenKfID: args[0], Scene: scene}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			res, err := c.Accounts.ContactWay(cmd.Context(), req)
			if err != nil {
				return err
			}
			if sceneParam != "" {
				if res.URL, err = kf.AppendSceneParam(res.URL, sceneParam); err != nil {
					return err
				}
			}
			return a.showKV(res, "url", res.URL)
		},
	}
	cmd.Flags().StringVar(&scene, "scene", "", "scene value, at most 32 bytes of [0-9a-zA-Z_-]")
	cmd.Flags().StringVar(&sceneParam, "scene-param", "", "scene_param appended to the link (at most 128 bytes URL-encoded)")
	return cmd
}
