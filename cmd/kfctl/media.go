package main

import (
	"context"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
)

func newMediaCmd(a *app) *cobra.Command {
	c := group("media", "Upload and download temporary media (3 days)",
		newMediaUploadCmd(a),
		newMediaDownloadCmd(a),
	)
	c.GroupID = groupAPI
	return c
}

// mediaTypeOf guesses the media type from a file name's extension.
func mediaTypeOf(name string) kf.MediaType {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".bmp":
		return kf.MediaTypeImage
	case ".amr":
		return kf.MediaTypeVoice
	case ".mp4":
		return kf.MediaTypeVideo
	}
	return kf.MediaTypeFile
}

// parseMediaType checks a --type value.
func parseMediaType(s string) (kf.MediaType, error) {
	switch t := kf.MediaType(s); t {
	case kf.MediaTypeImage, kf.MediaTypeVoice, kf.MediaTypeVideo, kf.MediaTypeFile:
		return t, nil
	}
	return "", usagef("--type: %q is not image, voice, video or file", s)
}

// uploadFile uploads the file at path as a temporary medium of type typ.
func uploadFile(ctx context.Context, c *kf.Client, typ kf.MediaType, path string) (*kf.UploadMediaResponse, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ct := mime.TypeByExtension(filepath.Ext(path))
	if ct == "" {
		ct = "application/octet-stream"
	}
	return c.Media.Upload(ctx, &kf.UploadMediaRequest{
		Type: typ, Filename: filepath.Base(path), Body: f, ContentType: ct,
	})
}

func newMediaUploadCmd(a *app) *cobra.Command {
	var typ string
	cmd := &cobra.Command{
		Use:   "upload FILE [--type image|voice|video|file]",
		Short: "Upload a temporary medium (media/upload); prints its media_id",
		Long: `Upload a temporary medium (media/upload) and print its media_id, valid 3 days.
Without --type the type follows the extension: .jpg .jpeg .png .gif .bmp image,
.amr voice, .mp4 video, anything else file.`,
		Args: args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t := mediaTypeOf(args[0])
			if typ != "" {
				var err error
				if t, err = parseMediaType(typ); err != nil {
					return err
				}
			}
			st, err := os.Stat(args[0])
			if err != nil {
				return err
			}
			if st.IsDir() {
				return usagef("%s: %s is a directory", cmd.CommandPath(), args[0])
			}
			if max := t.MaxSize(); max > 0 && st.Size() > max {
				return usagef("%s: %s is %d bytes; a %s may have at most %d", cmd.CommandPath(), args[0], st.Size(), t, max)
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			res, err := uploadFile(cmd.Context(), c, t, args[0])
			if err != nil {
				return err
			}
			return a.showKV(res, "type", res.Type, "media_id", res.MediaID, "created_at", res.CreatedAt.Local())
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "media type: image, voice, video or file (default: from the extension)")
	return cmd
}

func newMediaDownloadCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "download MEDIA_ID -o FILE",
		Short: "Download a temporary medium (media/get) into FILE (- for stdout)",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(cmd, "out"); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			if out == "-" {
				_, err := c.Media.Download(cmd.Context(), args[0], a.stdout)
				return err
			}
			// Write into a temporary file beside the target and rename it
			// once complete, so that a failed download leaves no partial
			// file behind.
			tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			info, err := c.Media.Download(cmd.Context(), args[0], tmp)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if err := os.Chmod(tmp.Name(), 0o644); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return fmt.Errorf("media download: %w", err)
			}
			res := map[string]any{"media_id": args[0], "file": out, "size": info.Size,
				"content_type": info.ContentType, "filename": info.Filename}
			return a.showKV(res, "media_id", args[0], "file", out, "size", info.Size,
				"content_type", info.ContentType, "filename", info.Filename)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "`FILE` to write (- for stdout)")
	return cmd
}
