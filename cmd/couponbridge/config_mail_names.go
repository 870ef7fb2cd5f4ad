package main

import (
	"context"
	"log/slog"

	"github.com/couponbridge/couponbridge/campaign"
)

// restrictionNamer reads product and category names from the store
// (*woo.Client).
type restrictionNamer interface {
	ProductNames(ctx context.Context, ids []int64) (map[int64]string, error)
	CategoryNames(ctx context.Context, ids []int64) (map[int64]string, error)
}

// nameRestrictions lets camp's emails name the products and categories its
// coupon is limited to: one request per kind, only when the coupon has
// such a restriction. A store that cannot tell (no such product, an old
// key) costs nothing but the names: the email shows "#ID" instead, and
// the run goes on.
func nameRestrictions(ctx context.Context, store restrictionNamer, camp *campaign.Campaign, logger *slog.Logger) {
	if camp.ExportOnly {
		return
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := camp.Coupon
	if products := append(append([]int64(nil), t.ProductIDs...), t.ExcludedProductIDs...); len(products) > 0 {
		names, err := store.ProductNames(ctx, products)
		if err != nil {
			logger.Warn("the emails name restricted products by id: the store did not tell their names", "error", err)
		}
		camp.Mail.ProductNames = names
	}
	if cats := append(append([]int64(nil), t.ProductCategories...), t.ExcludedProductCategories...); len(cats) > 0 {
		names, err := store.CategoryNames(ctx, cats)
		if err != nil {
			logger.Warn("the emails name restricted categories by id: the store did not tell their names", "error", err)
		}
		camp.Mail.CategoryNames = names
	}
}
