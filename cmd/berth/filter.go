package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
)

// pruneFilter is the --filter flags of a prune command, Docker's prune
// filters: until=, label= and label!=. Each command accepts the subset
// Docker's does (parsePruneFilters' accepted keys).
type pruneFilter struct {
	// until: only objects created at or before it are pruned; zero, any.
	until time.Time
	// labels: key or key=value, an object must have every one.
	labels []string
	// notLabels: key or key=value, an object that has every one is kept
	// (Docker's MatchKVList on label!: one label!= keeps what matches it).
	notLabels []string
}

// parsePruneFilters parses key=value flags with the keys accepted;
// relative untils (24h) count back from now. Errors name the filter and
// are errdefs.ErrInvalidArgument.
func parsePruneFilters(flags []string, now time.Time, accepted ...string) (pruneFilter, error) {
	var f pruneFilter
	var untils []string
	for _, fl := range flags {
		k, v, err := cutFilter(fl, accepted...)
		if err != nil {
			return f, err
		}
		switch k {
		case "label":
			f.labels = append(f.labels, v)
		case "label!":
			f.notLabels = append(f.notLabels, v)
		case "until":
			untils = append(untils, v)
		}
	}
	switch len(untils) {
	case 0:
	case 1:
		t, err := parseTimestamp(untils[0], now)
		if err != nil {
			return f, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'until=%s': %v", untils[0], err))
		}
		f.until = t
	default:
		return f, errdefs.ErrInvalidArgument.WithMessage("more than one until filter specified")
	}
	return f, nil
}

// match reports whether an object created at created with labels is to
// be pruned. An object of unknown creation (zero, an image config without
// one) is kept by any until, as Docker keeps such an image.
func (f pruneFilter) match(created time.Time, labels map[string]string) bool {
	if !f.until.IsZero() && (created.IsZero() || created.After(f.until)) {
		return false
	}
	return f.matchLabels(labels)
}

// matchLabels is Docker's: every label= present, and not every label!=.
func (f pruneFilter) matchLabels(labels map[string]string) bool {
	has := func(l string) bool { return hasLabel(labels, l) }
	if !allOf(f.labels, has) {
		return false
	}
	return len(f.notLabels) == 0 || !allOf(f.notLabels, has)
}

func allOf(ls []string, pred func(string) bool) bool {
	for _, l := range ls {
		if !pred(l) {
			return false
		}
	}
	return true
}

// parseTimestamp reads a point in time as Docker's filters and --since /
// --until flags do (its api/types/time.GetTimestamp): a Go duration back
// from now ("24h", "10m"; "0" is the Unix epoch, not now), an RFC 3339
// date-time or one of its shorter forms (2006-01-02, 2006-01-02T15,
// 2006-01-02T15:04, with or without fractional seconds), in now's zone
// unless it gives one (Z, +07:00, or -07:00), or a Unix timestamp in
// seconds with an optional fraction (1700000000.5).
func parseTimestamp(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && s != "0" {
		return now.Add(-d), nil
	}
	local := !strings.ContainsAny(s, "zZ+") && strings.Count(s, "-") != 3
	var layout string
	switch {
	case strings.Contains(s, "."):
		layout = time.RFC3339Nano
		if local {
			layout = "2006-01-02T15:04:05.999999999"
		}
	case strings.Contains(s, "T"):
		colons := strings.Count(s, ":")
		if !local && !strings.ContainsAny(s, "zZ") && colons > 0 {
			colons-- // the zone's +07:00
		}
		layout = []string{"2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05"}[min(colons, 2)]
		if !local {
			layout += "Z07:00"
		}
	case local:
		layout = "2006-01-02"
	default:
		layout = "2006-01-02Z07:00"
	}
	var t time.Time
	var err error
	if local {
		t, err = time.ParseInLocation(layout, s, now.Location())
	} else {
		t, err = time.Parse(layout, s)
	}
	if err == nil {
		return t, nil
	}
	if !strings.Contains(s, "-") {
		if t, ok := unixTimestamp(s); ok {
			return t, nil
		}
	}
	return time.Time{}, errors.New("want a Unix timestamp, a date-time (2006-01-02T15:04:05Z) or a duration (24h)")
}

// unixTimestamp reads seconds[.fraction] since the epoch.
func unixTimestamp(s string) (time.Time, bool) {
	sec, frac, hasFrac := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var ns int64
	if hasFrac {
		if frac == "" || strings.Trim(frac, "0123456789") != "" {
			return time.Time{}, false
		}
		ns, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	}
	return time.Unix(n, ns), true
}

// cutFilter splits one --filter flag, Docker's name=value, and checks its
// name against the accepted ones (none given: any), with Docker's messages
// (errdefs.ErrInvalidArgument).
func cutFilter(flag string, accepted ...string) (name, value string, err error) {
	name, value, ok := strings.Cut(flag, "=")
	if !ok {
		return "", "", errdefs.ErrInvalidArgument.WithMessage("bad format of filter (expected name=value): " + flag)
	}
	if len(accepted) > 0 && !slices.Contains(accepted, name) {
		return "", "", invalidFilter(name)
	}
	return name, value, nil
}

// invalidFilter is Docker's error for a filter it does not take: what is
// the name, or name=value for a value it does not take.
func invalidFilter(what string) error {
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", what))
}

// filterValues parses --filter flags with the names accepted into each
// name's values, in order.
func filterValues(flags []string, accepted ...string) (map[string][]string, error) {
	by := map[string][]string{}
	for _, fl := range flags {
		k, v, err := cutFilter(fl, accepted...)
		if err != nil {
			return nil, err
		}
		by[k] = append(by[k], v)
	}
	return by, nil
}

// hasLabel is Docker's label filter: "key" (present) or "key=value".
func hasLabel(labels map[string]string, filter string) bool {
	k, v, withValue := strings.Cut(filter, "=")
	got, ok := labels[k]
	return ok && (!withValue || got == v)
}
