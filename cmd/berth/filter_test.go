package main

import (
	"slices"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
)

func TestParseTimestamp(t *testing.T) {
	zone := time.FixedZone("UTC+2", 2*3600)
	now := time.Date(2026, 3, 4, 12, 30, 0, 0, zone)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"24h", now.Add(-24 * time.Hour)},
		{"10m", now.Add(-10 * time.Minute)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"0", time.Unix(0, 0)}, // Docker's: the epoch, not a zero duration
		{"1767261600", time.Unix(1767261600, 0)},
		{"1767261600.5", time.Unix(1767261600, 5e8)},
		{"1767261600.000000001", time.Unix(1767261600, 1)},
		{"2026-01-02T03:04:05Z", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"2026-01-02T03:04:05.25Z", time.Date(2026, 1, 2, 3, 4, 5, 25e7, time.UTC)},
		{"2026-01-02T03:04:05+01:00", time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)},
		{"2026-01-02T03:04:05-01:00", time.Date(2026, 1, 2, 4, 4, 5, 0, time.UTC)},
		{"2026-01-02T03:04+01:00", time.Date(2026, 1, 2, 2, 4, 0, 0, time.UTC)},
		{"2026-01-02T03Z", time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)},
		{"2026-01-02Z", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		// Without a zone: now's.
		{"2026-01-02T03:04:05", time.Date(2026, 1, 2, 3, 4, 5, 0, zone)},
		{"2026-01-02T03:04:05.5", time.Date(2026, 1, 2, 3, 4, 5, 5e8, zone)},
		{"2026-01-02T03:04", time.Date(2026, 1, 2, 3, 4, 0, 0, zone)},
		{"2026-01-02T03", time.Date(2026, 1, 2, 3, 0, 0, 0, zone)},
		{"2026-01-02", time.Date(2026, 1, 2, 0, 0, 0, 0, zone)},
	}
	for _, tc := range tests {
		got, err := parseTimestamp(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTimestamp(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "24x", "2026-13-01", "2026-01-02T25:00:00Z", "1767261600.", "1767261600.5x", "12:30", "-1"} {
		if got, err := parseTimestamp(bad, now); err == nil {
			t.Errorf("parseTimestamp(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParsePruneFilters(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	all := []string{"until", "label", "label!"}
	tests := []struct {
		name     string
		flags    []string
		accepted []string
		want     pruneFilter
		wantErr  string
	}{
		{"none", nil, all, pruneFilter{}, ""},
		{"all kinds", []string{"label=a", "label!=b=c", "until=2h", "label=d=e=f"}, all,
			pruneFilter{until: now.Add(-2 * time.Hour), labels: []string{"a", "d=e=f"}, notLabels: []string{"b=c"}}, ""},
		{"timestamp", []string{"until=1767261600"}, []string{"until"}, pruneFilter{until: time.Unix(1767261600, 0)}, ""},
		{"no equals", []string{"label"}, all, pruneFilter{}, "bad format of filter (expected name=value): label"},
		{"unknown key", []string{"dangling=true"}, all, pruneFilter{}, "invalid filter 'dangling'"},
		{"key not accepted", []string{"label=a"}, []string{"until"}, pruneFilter{}, "invalid filter 'label'"},
		{"bad until", []string{"until=yesterday"}, all, pruneFilter{},
			"invalid filter 'until=yesterday': want a Unix timestamp, a date-time (2006-01-02T15:04:05Z) or a duration (24h)"},
		{"empty until", []string{"until="}, all, pruneFilter{},
			"invalid filter 'until=': want a Unix timestamp, a date-time (2006-01-02T15:04:05Z) or a duration (24h)"},
		{"two untils", []string{"until=1h", "until=2h"}, all, pruneFilter{}, "more than one until filter specified"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePruneFilters(tc.flags, now, tc.accepted...)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errdefs.IsInvalidArgument(err) {
					t.Fatalf("error %v; want %q, invalid argument", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(pruneFilter{})); diff != "" {
				t.Errorf("filter (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPruneFilterMatch(t *testing.T) {
	until := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	old, young := until.Add(-time.Hour), until.Add(time.Hour)
	tests := []struct {
		name    string
		f       pruneFilter
		created time.Time
		labels  map[string]string
		want    bool
	}{
		{"no filter", pruneFilter{}, young, nil, true},
		{"older", pruneFilter{until: until}, old, nil, true},
		{"at until", pruneFilter{until: until}, until, nil, true},
		{"younger", pruneFilter{until: until}, young, nil, false},
		{"unknown age", pruneFilter{until: until}, time.Time{}, nil, false},
		{"label key", pruneFilter{labels: []string{"a"}}, old, map[string]string{"a": "1"}, true},
		{"label key missing", pruneFilter{labels: []string{"a"}}, old, map[string]string{"b": "1"}, false},
		{"label value", pruneFilter{labels: []string{"a=1"}}, old, map[string]string{"a": "1"}, true},
		{"label other value", pruneFilter{labels: []string{"a=2"}}, old, map[string]string{"a": "1"}, false},
		{"labels all needed", pruneFilter{labels: []string{"a", "b"}}, old, map[string]string{"a": "1"}, false},
		{"not label", pruneFilter{notLabels: []string{"keep"}}, old, map[string]string{"keep": ""}, false},
		{"not label absent", pruneFilter{notLabels: []string{"keep"}}, old, nil, true},
		{"not label other value", pruneFilter{notLabels: []string{"keep=yes"}}, old, map[string]string{"keep": "no"}, true},
		// Docker's MatchKVList: kept only when it has every label!=.
		{"not labels all", pruneFilter{notLabels: []string{"a", "b"}}, old, map[string]string{"a": "", "b": ""}, false},
		{"not labels one", pruneFilter{notLabels: []string{"a", "b"}}, old, map[string]string{"a": ""}, true},
		{"label and until", pruneFilter{until: until, labels: []string{"a"}}, young, map[string]string{"a": ""}, false},
	}
	for _, tc := range tests {
		if got := tc.f.match(tc.created, tc.labels); got != tc.want {
			t.Errorf("%s: match = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Every --filter parser shares Docker's messages, as invalid arguments.
func TestFilterValues(t *testing.T) {
	by, err := filterValues([]string{"label=a", "name=x", "label=b=c"}, "label", "name")
	if err != nil || !slices.Equal(by["label"], []string{"a", "b=c"}) || !slices.Equal(by["name"], []string{"x"}) {
		t.Fatalf("filterValues = %v, %v", by, err)
	}
	for flag, want := range map[string]string{
		"label":   "bad format of filter (expected name=value): label",
		"bogus=1": "invalid filter 'bogus'",
	} {
		_, err := filterValues([]string{flag}, "label")
		if err == nil || err.Error() != want || !errdefs.IsInvalidArgument(err) {
			t.Errorf("filterValues(%q) = %v, want %q (invalid argument)", flag, err, want)
		}
	}
	labels := map[string]string{"a": "1", "b": ""}
	for filter, want := range map[string]bool{"a": true, "a=1": true, "a=2": false, "b": true, "b=": true, "c": false} {
		if got := hasLabel(labels, filter); got != want {
			t.Errorf("hasLabel(%q) = %v", filter, got)
		}
	}
}
