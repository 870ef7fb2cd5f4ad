package campaign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// campaignSettings is what shapes a campaign's coupons. Its JSON is kept in
// the ledger, and its SHA-256 is the campaign's fingerprint: a rerun with
// other settings is refused, because the rows already created are verified
// against the template they were created with.
type campaignSettings struct {
	Coupon     CouponTemplate
	ExportOnly bool
}

// settingsJSON returns the JSON of the settings that shape c's coupons:
// exactly the bytes its fingerprint hashes, so fingerprints recorded before
// the settings were kept stay valid.
func (c Campaign) settingsJSON() ([]byte, error) {
	return json.Marshal(campaignSettings{Coupon: c.Coupon, ExportOnly: c.ExportOnly})
}

func fingerprintOf(settings []byte) string {
	sum := sha256.Sum256(settings)
	return hex.EncodeToString(sum[:16])
}

// SettingChange is one setting of a campaign that differs from what the
// campaign was planned with.
type SettingChange struct {
	// Field is the configuration key under the campaign: "coupon.amount".
	Field string
	// Was and Now are the values, "(not set)" when absent.
	Was, Now string
}

func (c SettingChange) String() string { return c.Field + ": " + c.Was + " → " + c.Now }

// SettingsChangedError is returned when a campaign is run again with
// settings other than those its rows were planned with. It matches
// ErrCampaignChanged.
type SettingsChangedError struct {
	Campaign string
	// Changes lists the fields that differ, in the order of the settings.
	Changes []SettingChange
	// Unrecorded is true when the ledger was written by a version that kept
	// only a fingerprint: the old values are not known, only that they were
	// different (Changes may still name export_only, which was kept).
	Unrecorded bool
}

func (e *SettingsChangedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "campaign %q: the campaign's settings changed since it was planned", e.Campaign)
	switch {
	case len(e.Changes) > 0:
		b.WriteString(": ")
		for i, c := range e.Changes {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.String())
		}
		if e.Unrecorded {
			b.WriteString(" (the other values it was planned with were not recorded by the version that planned it)")
		}
	case e.Unrecorded:
		b.WriteString(" (amount, type, expiry, limits or products; the values it was planned with were not recorded by the version that planned it)")
	}
	b.WriteString(". Its coupons are checked against the settings they were created with: restore the settings, or use a new campaign name")
	return b.String()
}

// Is makes a *SettingsChangedError match ErrCampaignChanged.
func (e *SettingsChangedError) Is(target error) bool { return target == ErrCampaignChanged }

// ensureCampaignOf records campaign c with its settings, or checks that they
// are the ones it was first planned with. A campaign recorded before the
// settings were kept gets them now when its fingerprint matches (they are
// then the same settings).
func (l *Ledger) ensureCampaignOf(ctx context.Context, c Campaign) error {
	settings, err := c.settingsJSON()
	if err != nil {
		return err
	}
	return l.recordCampaign(ctx, c.Name, fingerprintOf(settings), c.ExportOnly, settings)
}

// recordCampaign is ensureCampaign and ensureCampaignOf; settings is nil
// when the caller has only a fingerprint.
func (l *Ledger) recordCampaign(ctx context.Context, name, fingerprint string, exportOnly bool, settings []byte) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		var fp, had string
		var eo bool
		err := tx.QueryRowContext(ctx, `SELECT fingerprint, export_only, settings FROM campaigns WHERE name = ?`, name).Scan(&fp, &eo, &had)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			now := formatTime(l.now())
			_, err = tx.ExecContext(ctx, `INSERT INTO campaigns (name, fingerprint, export_only, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				name, fingerprint, exportOnly, string(settings), now, now)
			return err
		case err != nil:
			return err
		case fp == fingerprint && eo == exportOnly:
			if had == "" && len(settings) > 0 {
				_, err = tx.ExecContext(ctx, `UPDATE campaigns SET settings = ? WHERE name = ? AND settings = ''`, string(settings), name)
			}
			return err
		}
		return settingsChanged(name, []byte(had), settings, eo, exportOnly)
	})
}

// settingsChanged describes how the settings now differ from those the
// campaign was planned with.
func settingsChanged(name string, was, now []byte, wasExportOnly, nowExportOnly bool) error {
	e := &SettingsChangedError{Campaign: name}
	if len(was) == 0 || len(now) == 0 {
		e.Unrecorded = true
		if wasExportOnly != nowExportOnly {
			e.Changes = []SettingChange{{Field: "export_only", Was: fmt.Sprint(wasExportOnly), Now: fmt.Sprint(nowExportOnly)}}
		}
		return e
	}
	a, err := flattenSettings(was)
	if err != nil {
		e.Unrecorded = true
		return e
	}
	b, err := flattenSettings(now)
	if err != nil {
		return err
	}
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		if oka && okb && va == vb {
			continue
		}
		if !oka {
			va = notSet
		}
		if !okb {
			vb = notSet
		}
		e.Changes = append(e.Changes, SettingChange{Field: k, Was: va, Now: vb})
	}
	return e
}

const notSet = "(not set)"

// flattenSettings turns settings JSON into configuration keys and values:
// {"Coupon":{"expiry":{"days":30}}} gives "coupon.expiry.days" = "30".
// Fields the JSON omits (empty) are absent.
func flattenSettings(raw []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				walk(joinKey(prefix, settingsKey(k)), sub)
			}
		case nil:
		case string:
			out[prefix] = x
		case []any:
			b, _ := json.Marshal(x)
			out[prefix] = string(b)
		default:
			out[prefix] = fmt.Sprint(x)
		}
	}
	walk("", v)
	return out, nil
}

// settingsKey maps the Go field names of campaignSettings to configuration
// keys; the template's own fields already use them as JSON names.
func settingsKey(k string) string {
	switch k {
	case "Coupon":
		return "coupon"
	case "ExportOnly":
		return "export_only"
	}
	return k
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// checkCampaignOf is ensureCampaignOf for a read-only ledger (a dry run): it
// writes nothing and says what a run would refuse. The ledger may predate
// the settings column (a read-only ledger is not migrated).
func (l *Ledger) checkCampaignOf(ctx context.Context, c Campaign) error {
	settings, err := c.settingsJSON()
	if err != nil {
		return err
	}
	var fp string
	var eo bool
	err = l.db.QueryRowContext(ctx, `SELECT fingerprint, export_only FROM campaigns WHERE name = ?`, c.Name).Scan(&fp, &eo)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case fp == fingerprintOf(settings) && eo == c.ExportOnly:
		return nil
	}
	var had string
	if err := l.db.QueryRowContext(ctx, `SELECT settings FROM campaigns WHERE name = ?`, c.Name).Scan(&had); err != nil {
		had = ""
	}
	return settingsChanged(c.Name, []byte(had), settings, eo, c.ExportOnly)
}
