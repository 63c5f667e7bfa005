package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
)

func newKBCmd(a *app) *cobra.Command {
	c := group("kb", "Manage the knowledge base (知识库): groups and intents",
		group("groups", "Knowledge base groups",
			newKBGroupsListCmd(a), newKBGroupsAddCmd(a), newKBGroupsDeleteCmd(a), newKBGroupsRenameCmd(a)),
		group("intents", "Knowledge base intents (questions and answers)",
			newKBIntentsListCmd(a), newKBIntentsAddCmd(a), newKBIntentsDeleteCmd(a)),
	)
	c.GroupID = groupAPI
	return c
}

func newKBGroupsListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the groups (knowledge/list_group, every page)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			groups := []kf.Group{}
			t := newTable("GROUP_ID", "NAME", "DEFAULT")
			for g, err := range c.Knowledge.AllGroups(cmd.Context(), nil) {
				if err != nil {
					return err
				}
				groups = append(groups, g)
				t.row(g.GroupID, g.Name, g.IsDefault)
			}
			return a.show(groups, t)
		},
	}
}

func newKBGroupsAddCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "add NAME",
		Short: "Add a group (knowledge/add_group)",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &kf.AddGroupRequest{Name: args[0]}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			res, err := c.Knowledge.AddGroup(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.showKV(res, "group_id", res.GroupID)
		},
	}
}

func newKBGroupsDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete GROUP_ID",
		Aliases: []string{"del", "rm"},
		Short:   "Delete a group and its intents (knowledge/del_group)",
		Args:    args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &kf.DeleteGroupRequest{GroupID: args[0]}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			if err := c.Knowledge.DeleteGroup(cmd.Context(), req); err != nil {
				return err
			}
			return a.showKV(map[string]string{"group_id": args[0], "status": "deleted"}, "group_id", args[0], "status", "deleted")
		},
	}
}

func newKBGroupsRenameCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rename GROUP_ID NAME",
		Short: "Rename a group (knowledge/mod_group)",
		Args:  args(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &kf.ModifyGroupRequest{GroupID: args[0], Name: args[1]}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			if err := c.Knowledge.ModifyGroup(cmd.Context(), req); err != nil {
				return err
			}
			return a.showKV(map[string]string{"group_id": args[0], "name": args[1]}, "group_id", args[0], "name", args[1])
		},
	}
}

func newKBIntentsListCmd(a *app) *cobra.Command {
	var groupID string
	cmd := &cobra.Command{
		Use:   "list [--group GROUP_ID]",
		Short: "List the intents (knowledge/list_intent, every page)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &kf.ListIntentsRequest{GroupID: groupID}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			intents := []kf.Intent{}
			t := newTable("INTENT_ID", "GROUP_ID", "QUESTION", "SIMILAR", "ANSWER")
			for it, err := range c.Knowledge.AllIntents(cmd.Context(), req) {
				if err != nil {
					return err
				}
				intents = append(intents, it)
				var similar []string
				for _, q := range it.SimilarQuestions.Items {
					similar = append(similar, q.Text.Content)
				}
				var answer string
				if len(it.Answers) > 0 {
					answer = it.Answers[0].Text.Content
				}
				t.row(it.IntentID, it.GroupID, truncate(it.Question.Text.Content, 40),
					truncate(strings.Join(similar, " | "), 40), truncate(answer, 40))
			}
			return a.show(intents, t)
		},
	}
	cmd.Flags().StringVar(&groupID, "group", "", "only the intents of this group")
	return cmd
}

func newKBIntentsAddCmd(a *app) *cobra.Command {
	var groupID, question, answer string
	var similar []string
	cmd := &cobra.Command{
		Use:   "add --group GROUP_ID --question TEXT --answer TEXT [--similar TEXT]...",
		Short: "Add an intent (knowledge/add_intent)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &kf.AddIntentRequest{GroupID: groupID, Question: kf.IntentQuestion{Text: kf.IntentText{Content: question}}}
			for _, s := range similar {
				req.SimilarQuestions.Items = append(req.SimilarQuestions.Items, kf.IntentQuestion{Text: kf.IntentText{Content: s}})
			}
			if answer != "" {
				req.Answers = []kf.IntentAnswer{{Text: kf.IntentText{Content: answer}}}
			}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			res, err := c.Knowledge.AddIntent(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.showKV(res, "intent_id", res.IntentID)
		},
	}
	f := cmd.Flags()
	f.StringVar(&groupID, "group", "", "the group (group_id)")
	f.StringVar(&question, "question", "", "the question")
	f.StringVar(&answer, "answer", "", "the answer's text")
	f.StringArrayVar(&similar, "similar", nil, "another wording of the question (repeatable)")
	return cmd
}

func newKBIntentsDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete INTENT_ID",
		Aliases: []string{"del", "rm"},
		Short:   "Delete an intent (knowledge/del_intent)",
		Args:    args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &kf.DeleteIntentRequest{IntentID: args[0]}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			if err := c.Knowledge.DeleteIntent(cmd.Context(), req); err != nil {
				return err
			}
			return a.showKV(map[string]string{"intent_id": args[0], "status": "deleted"}, "intent_id", args[0], "status", "deleted")
		},
	}
}
