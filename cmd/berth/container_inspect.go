package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/runtime/runc"
)

func newContainerInspectCmd(g *globals, use string) *cobra.Command {
	var (
		format, kind string
		size         bool
	)
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// `berth inspect` is Docker's object inspect: a name that is no
			// container may be an image; `berth container inspect` is
			// containers only.
			top := cmd.Parent() == cmd.Root()
			switch {
			case kind == "" || kind == "container" || (top && kind == "image"):
			default:
				return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%q is not a valid value for --type", kind))
			}
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			var store *images.Store
			var docs []any
			failed := false
			for _, ref := range args {
				doc, err := inspectObject(cmd.Context(), g, rt, &store, ref, kind, top, size)
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "berth:", err)
					failed = true
					continue
				}
				docs = append(docs, doc)
			}
			if err := writeInspect(cmd.OutOrStdout(), format, docs, nil); err != nil {
				return err
			}
			if failed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template: 'json' or a Go template")
	cmd.Flags().BoolVarP(&size, "size", "s", false, "Display total file sizes")
	cmd.Flags().StringVar(&kind, "type", "", "Only inspect objects of the given type (container or image; berth inspect only)")
	return cmd
}

// inspectObject finds ref as a container, and for `berth inspect` (top)
// as an image after that, as docker inspect does; kind limits the search.
// The image store is opened on first need into *store.
func inspectObject(ctx context.Context, g *globals, rt *runc.Runtime, store **images.Store, ref, kind string, top, size bool) (any, error) {
	if kind != "image" {
		in, err := rt.Inspect(ctx, ref, size)
		if err == nil && size {
			err = setSizeRootFs(ctx, g, store, in)
		}
		if err == nil {
			return in, nil
		}
		if !errdefs.IsNotFound(err) {
			return nil, err
		}
		if !top || kind == "container" {
			// Docker's text, capitalised; a class, not a format string.
			return nil, errdefs.ErrNotFound.WithMessage("No such container: " + ref)
		}
	}
	if *store == nil {
		s, err := openImageStore(g)
		if err != nil {
			return nil, err
		}
		*store = s
	}
	im, err := (*store).Image(ctx, ref)
	if err != nil {
		if errdefs.IsNotFound(err) && kind == "" {
			return nil, errdefs.ErrNotFound.WithMessage("No such object: " + ref)
		}
		return nil, err
	}
	return images.NewInspect(im), nil
}

// writeInspect prints inspect documents as docker inspect does: an indented
// JSON array (empty, not null, when nothing was found) for "" or "json",
// else the Go template format once per document. As in Docker's
// TemplateInspector, the template runs on the typed document first and, if
// that fails (a JSON name such as {{.Id}} where the Go field is ID), on the
// document's JSON decoded into maps with missing keys an error, so both
// Docker's JSON names and the Go names work. view gives that JSON document
// (nil: d marshalled and decoded). container and image inspect share it.
func writeInspect[T any](out io.Writer, format string, docs []T, view func(T) any) error {
	if format == "" || format == "json" {
		if docs == nil {
			docs = []T{}
		}
		b, err := json.MarshalIndent(docs, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, string(b))
		return err
	}
	typed, err := parseImageTemplate(format)
	if err != nil {
		return err
	}
	raw, err := typed.Clone()
	if err != nil {
		return err
	}
	raw.Option("missingkey=error")
	var buf bytes.Buffer
	for _, d := range docs {
		buf.Reset()
		if err := typed.Execute(&buf, d); err != nil {
			buf.Reset()
			var v any
			if view != nil {
				v = view(d)
			} else if v, err = jsonDocument(d); err != nil {
				return err
			}
			if err := raw.Execute(&buf, v); err != nil {
				return fmt.Errorf("template parsing error: %w", err)
			}
		}
		buf.WriteByte('\n')
		if _, err := buf.WriteTo(out); err != nil {
			return err
		}
	}
	return nil
}

// jsonDocument is v as its JSON decodes into maps, slices and json.Number
// (67108864, not 6.7108864e+07), as Docker's raw inspect fallback reads it.
func jsonDocument(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	return doc, nil
}

func newTopCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			out, err := rt.Top(cmd.Context(), args[0], args[1:])
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), out)
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// setSizeRootFs fills Docker's SizeRootFs of inspect --size: the writable
// layer and the image's size, as ps -s's virtual size (an image removed
// since counts 0).
func setSizeRootFs(ctx context.Context, g *globals, store **images.Store, in *runc.Inspect) error {
	if in.SizeRw == nil {
		return nil
	}
	if *store == nil {
		s, err := openImageStore(g)
		if err != nil {
			return err
		}
		*store = s
	}
	image, err := newImageSizes(*store).of(ctx, in.Image)
	if err != nil {
		return err
	}
	n := *in.SizeRw + image
	in.SizeRootFs = &n
	return nil
}
