package mailer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Locales are the languages the built-in templates are written in; the
// first is the default.
var Locales = []string{"en", "de", "fr", "es", "id", "nl"}

// DefaultLocale is the locale of a TemplateSource that names none.
const DefaultLocale = "en"

// Purposes are the built-in emails, each written for its moment: the
// welcome of a new customer, the win-back of one who stopped buying, any
// other campaign, and the reminder that a code is about to expire.
var Purposes = []string{"welcome", "winback", "generic", "reminder"}

// DefaultPurpose is the built-in email of a TemplateSource that names none.
const DefaultPurpose = "generic"

// monthNames are the month names of each locale other than English.
var monthNames = map[string][12]string{
	"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	"es": {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	"id": {"Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"},
	"nl": {"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
}

// dateLayouts are each locale's usual long date ("31 December 2026",
// "31. Dezember 2026", "31 de diciembre de 2026"), written with English
// month names that FormatExpiryIn then translates.
var dateLayouts = map[string]string{
	"en": "2 January 2006",
	"de": "2. January 2006",
	"fr": "2 January 2006",
	"es": "2 de January de 2006",
	"id": "2 January 2006",
	"nl": "2 January 2006",
}

// ValidLocale reports whether the built-in templates are written in locale.
func ValidLocale(locale string) bool { return slices.Contains(Locales, locale) }

// ValidPurpose reports whether purpose names a built-in email.
func ValidPurpose(purpose string) bool { return slices.Contains(Purposes, purpose) }

// normLocale maps "" and unknown locales to DefaultLocale.
func normLocale(locale string) string {
	if ValidLocale(locale) {
		return locale
	}
	return DefaultLocale
}

// FormatExpiryIn is FormatExpiry in a locale: with an empty layout (or
// DefaultExpiryLayout) the locale's long date ("31. Dezember 2026"), and
// month names in the locale's language whatever the layout.
func FormatExpiryIn(locale string, t time.Time, loc *time.Location, layout string) string {
	locale = normLocale(locale)
	if layout == "" || layout == DefaultExpiryLayout {
		// The configuration's default means "the usual long date".
		layout = dateLayouts[locale]
	}
	s := FormatExpiry(t, loc, layout)
	names, ok := monthNames[locale]
	if !ok || s == "" {
		return s
	}
	if loc == nil {
		loc = time.UTC
	}
	// Only the month of t can appear: replacing it alone cannot touch
	// another word (no English month name contains another's).
	m := t.In(loc).Month()
	return strings.ReplaceAll(s, m.String(), names[m-1])
}

// percentSpace is what separates a number from "%" in each locale (a
// no-break space where the locale writes one).
var percentSpace = map[string]string{"de": "\u00a0", "fr": "\u00a0", "es": "\u00a0"}

// FormatAmountIn is FormatAmount in a locale: FormatAmountIn("de",
// "fixed_cart", "1234.5", "EUR") is "1.234,50 €", FormatAmountIn("de",
// "percent", "10", "") "10 %". English is exactly FormatAmount.
func FormatAmountIn(locale, discountType, amount, currency string) string {
	locale = normLocale(locale)
	if locale == "en" {
		return FormatAmount(discountType, amount, currency)
	}
	amount = strings.TrimSpace(amount)
	v, err := strconv.ParseFloat(amount, 64)
	valid := err == nil && v >= 0 && v < 1e15
	if discountType == "percent" {
		if !valid {
			return amount + percentSpace[locale] + "%"
		}
		scale := 0
		if v != float64(int64(v)) {
			scale = len(strconv.FormatFloat(v, 'f', -1, 64)) - strings.IndexByte(strconv.FormatFloat(v, 'f', -1, 64), '.') - 1
		}
		return formatNumber(locale, v, scale) + percentSpace[locale] + "%"
	}
	return FormatMoneyIn(locale, amount, currency)
}

// FormatMoneyIn formats an amount of money ("20", "EUR") the way locale
// writes prices: "€20.00" (en), "20,00 €" (de, fr, es), "€ 20,00" (nl),
// "Rp20.000" (id, IDR). A currency without a well-known symbol follows
// the amount ("20,00 CHF"); an amount that is not a number is kept as given.
func FormatMoneyIn(locale, amount, currency string) string {
	locale = normLocale(locale)
	amount = strings.TrimSpace(amount)
	currency = strings.ToUpper(strings.TrimSpace(currency))
	if locale == "en" {
		return FormatAmount("fixed_cart", amount, currency)
	}
	cf, known := currencies[currency]
	if !known {
		cf = currencyFormat{decimals: 2}
	}
	num := amount
	if v, err := strconv.ParseFloat(amount, 64); err == nil && v >= 0 && v < 1e15 {
		num = formatNumber(locale, v, cf.decimals)
	}
	switch {
	case currency == "":
		return num
	case !known:
		return num + "\u00a0" + currency
	case locale == "nl":
		return cf.symbol + "\u00a0" + num
	case locale == "id":
		return cf.symbol + num
	default:
		return num + "\u00a0" + cf.symbol
	}
}

// formatNumber writes v with scale decimals and the locale's separators.
func formatNumber(locale string, v float64, scale int) string {
	p := message.NewPrinter(language.MustParse(locale))
	return p.Sprint(number.Decimal(v, number.Scale(scale)))
}

// catalogs holds the built-in templates' strings for each locale. A key
// "PURPOSE.name" is that purpose's own wording; "name" is shared. Values
// are fmt formats; every locale has every key (TestCatalogsAreComplete).
var catalogs = map[string]map[string]string{
	"en": {
		"code.heading":           "Your code:",
		"conditions.heading":     "Good to know:",
		"greeting.name":          "Hi %s,",
		"greeting":               "Hello,",
		"off":                    "%s off",
		"code.label":             "Your code",
		"code.copy":              "Copy it, or type it exactly as shown.",
		"apply.button":           "Apply my coupon",
		"apply.text":             "Apply it in one click:",
		"checkout.or.url":        "Or enter the code at checkout on %s.",
		"checkout.url":           "Enter the code at checkout on %s.",
		"checkout":               "Enter the code at checkout.",
		"conditions.title":       "Good to know",
		"cond.min":               "Valid on orders of %s or more.",
		"cond.max":               "Valid on orders up to %s.",
		"cond.sale":              "Items on sale are not discounted.",
		"cond.freeship":          "Includes free shipping.",
		"cond.individual":        "Cannot be combined with other coupons.",
		"cond.products":          "Valid only on: %s.",
		"cond.categories":        "Valid only in: %s.",
		"cond.xproducts":         "Not valid on: %s.",
		"cond.xcategories":       "Not valid in: %s.",
		"cond.once":              "Can be used once.",
		"cond.once.email":        "Can be used once, with the email address %s.",
		"cond.until":             "Valid until %s.",
		"signoff":                "See you soon,",
		"unsubscribe":            "Unsubscribe",
		"unsubscribe.text":       "Don't want these emails? Unsubscribe: %s",
		"subject":                "Your %s coupon",
		"subject.store":          "Your %s coupon from %s",
		"welcome.subject":        "Welcome! Your %s coupon",
		"welcome.subject.store":  "Welcome to %[2]s! Your %[1]s coupon",
		"welcome.intro":          "Thank you for joining us. Here is a welcome gift for your first order:",
		"welcome.closing":        "We are glad to have you with us.",
		"winback.subject":        "We miss you: %s off your next order",
		"winback.subject.store":  "We miss you at %[2]s: %[1]s off your next order",
		"winback.intro":          "It has been a while since your last order, and we would love to see you again. Here is something to welcome you back:",
		"winback.closing":        "Whatever brings you back, we are happy to help.",
		"generic.subject":        "Your %s coupon",
		"generic.subject.store":  "Your %s coupon from %s",
		"generic.intro":          "Here is your personal coupon for your next order:",
		"generic.closing":        "Enjoy your shopping!",
		"reminder.subject":       "Reminder: your %s coupon expires soon",
		"reminder.subject.store": "Reminder: your %s coupon from %s expires soon",
		"reminder.intro":         "A quick reminder: your personal coupon has not been used yet.",
		"reminder.expires":       "It expires on %s.",
		"reminder.closing":       "Don't let it go to waste!",
	},
	"de": {
		"code.heading":           "Ihr Code:",
		"conditions.heading":     "Gut zu wissen:",
		"greeting.name":          "Hallo %s,",
		"greeting":               "Hallo,",
		"off":                    "%s Rabatt",
		"code.label":             "Ihr Code",
		"code.copy":              "Kopieren Sie ihn oder geben Sie ihn genau so ein.",
		"apply.button":           "Gutschein einlösen",
		"apply.text":             "Mit einem Klick einlösen:",
		"checkout.or.url":        "Oder geben Sie den Code an der Kasse auf %s ein.",
		"checkout.url":           "Geben Sie den Code an der Kasse auf %s ein.",
		"checkout":               "Geben Sie den Code an der Kasse ein.",
		"conditions.title":       "Gut zu wissen",
		"cond.min":               "Gültig ab einem Bestellwert von %s.",
		"cond.max":               "Gültig bis zu einem Bestellwert von %s.",
		"cond.sale":              "Reduzierte Artikel sind ausgenommen.",
		"cond.freeship":          "Inklusive kostenlosem Versand.",
		"cond.individual":        "Nicht mit anderen Gutscheinen kombinierbar.",
		"cond.products":          "Nur gültig für: %s.",
		"cond.categories":        "Nur gültig in: %s.",
		"cond.xproducts":         "Nicht gültig für: %s.",
		"cond.xcategories":       "Nicht gültig in: %s.",
		"cond.once":              "Einmal einlösbar.",
		"cond.once.email":        "Einmal einlösbar, mit der E-Mail-Adresse %s.",
		"cond.until":             "Gültig bis %s.",
		"signoff":                "Bis bald,",
		"unsubscribe":            "Abmelden",
		"unsubscribe.text":       "Sie möchten diese E-Mails nicht mehr erhalten? Abmelden: %s",
		"subject":                "Ihr Gutschein über %s",
		"subject.store":          "Ihr Gutschein über %s von %s",
		"welcome.subject":        "Willkommen! Ihr Gutschein über %s",
		"welcome.subject.store":  "Willkommen bei %[2]s! Ihr Gutschein über %[1]s",
		"welcome.intro":          "Schön, dass Sie da sind. Hier ist ein Willkommensgeschenk für Ihre erste Bestellung:",
		"welcome.closing":        "Wir freuen uns, Sie dabeizuhaben.",
		"winback.subject":        "Wir vermissen Sie: %s Rabatt auf Ihre nächste Bestellung",
		"winback.subject.store":  "%[2]s vermisst Sie: %[1]s Rabatt auf Ihre nächste Bestellung",
		"winback.intro":          "Ihre letzte Bestellung ist schon eine Weile her, und wir würden Sie gern wiedersehen. Hier ist ein kleines Dankeschön zur Rückkehr:",
		"winback.closing":        "Was auch immer Sie zurückbringt: Wir helfen gern.",
		"generic.subject":        "Ihr Gutschein über %s",
		"generic.subject.store":  "Ihr Gutschein über %s von %s",
		"generic.intro":          "Hier ist Ihr persönlicher Gutschein für Ihre nächste Bestellung:",
		"generic.closing":        "Viel Freude beim Einkaufen!",
		"reminder.subject":       "Erinnerung: Ihr Gutschein über %s läuft bald ab",
		"reminder.subject.store": "Erinnerung: Ihr Gutschein über %s von %s läuft bald ab",
		"reminder.intro":         "Eine kurze Erinnerung: Ihr persönlicher Gutschein wurde noch nicht eingelöst.",
		"reminder.expires":       "Er läuft am %s ab.",
		"reminder.closing":       "Lassen Sie ihn nicht verfallen!",
	},
	"fr": {
		"code.heading":           "Votre code :",
		"conditions.heading":     "Bon à savoir :",
		"greeting.name":          "Bonjour %s,",
		"greeting":               "Bonjour,",
		"off":                    "%s de réduction",
		"code.label":             "Votre code",
		"code.copy":              "Copiez-le, ou saisissez-le exactement comme indiqué.",
		"apply.button":           "Utiliser mon code",
		"apply.text":             "Utilisez-le en un clic :",
		"checkout.or.url":        "Vous pouvez aussi saisir le code lors du paiement sur %s.",
		"checkout.url":           "Saisissez le code lors du paiement sur %s.",
		"checkout":               "Saisissez le code lors du paiement.",
		"conditions.title":       "Bon à savoir",
		"cond.min":               "Valable dès %s d'achat.",
		"cond.max":               "Valable jusqu'à %s d'achat.",
		"cond.sale":              "Les articles en promotion sont exclus.",
		"cond.freeship":          "Livraison gratuite incluse.",
		"cond.individual":        "Non cumulable avec d'autres codes.",
		"cond.products":          "Valable uniquement sur : %s.",
		"cond.categories":        "Valable uniquement dans : %s.",
		"cond.xproducts":         "Non valable sur : %s.",
		"cond.xcategories":       "Non valable dans : %s.",
		"cond.once":              "Utilisable une seule fois.",
		"cond.once.email":        "Utilisable une seule fois, avec l'adresse e-mail %s.",
		"cond.until":             "Valable jusqu'au %s.",
		"signoff":                "À bientôt,",
		"unsubscribe":            "Se désabonner",
		"unsubscribe.text":       "Vous ne souhaitez plus recevoir ces e-mails ? Se désabonner : %s",
		"subject":                "Votre code de réduction de %s",
		"subject.store":          "Votre code de réduction de %s chez %s",
		"welcome.subject":        "Bienvenue ! Votre code de réduction de %s",
		"welcome.subject.store":  "Bienvenue chez %[2]s ! Votre code de réduction de %[1]s",
		"welcome.intro":          "Merci de nous avoir rejoints. Voici un cadeau de bienvenue pour votre première commande :",
		"welcome.closing":        "Nous sommes ravis de vous compter parmi nous.",
		"winback.subject":        "Vous nous manquez : %s de réduction sur votre prochaine commande",
		"winback.subject.store":  "Vous manquez à %[2]s : %[1]s de réduction sur votre prochaine commande",
		"winback.intro":          "Votre dernière commande remonte à un moment, et nous serions heureux de vous revoir. Voici de quoi fêter votre retour :",
		"winback.closing":        "Quelle que soit la raison de votre retour, nous sommes là pour vous aider.",
		"generic.subject":        "Votre code de réduction de %s",
		"generic.subject.store":  "Votre code de réduction de %s chez %s",
		"generic.intro":          "Voici votre code personnel pour votre prochaine commande :",
		"generic.closing":        "Bonnes emplettes !",
		"reminder.subject":       "Rappel : votre code de réduction de %s expire bientôt",
		"reminder.subject.store": "Rappel : votre code de réduction de %s chez %s expire bientôt",
		"reminder.intro":         "Petit rappel : votre code personnel n'a pas encore été utilisé.",
		"reminder.expires":       "Il expire le %s.",
		"reminder.closing":       "Ne le laissez pas filer !",
	},
	"es": {
		"code.heading":           "Tu código:",
		"conditions.heading":     "Conviene saber:",
		"greeting.name":          "Hola, %s:",
		"greeting":               "Hola:",
		"off":                    "%s de descuento",
		"code.label":             "Tu código",
		"code.copy":              "Cópialo o escríbelo tal como aparece.",
		"apply.button":           "Usar mi cupón",
		"apply.text":             "Úsalo con un clic:",
		"checkout.or.url":        "También puedes introducir el código al pagar en %s.",
		"checkout.url":           "Introduce el código al pagar en %s.",
		"checkout":               "Introduce el código al pagar.",
		"conditions.title":       "Conviene saber",
		"cond.min":               "Válido en pedidos desde %s.",
		"cond.max":               "Válido en pedidos de hasta %s.",
		"cond.sale":              "No se aplica a artículos rebajados.",
		"cond.freeship":          "Incluye envío gratuito.",
		"cond.individual":        "No se puede combinar con otros cupones.",
		"cond.products":          "Válido solo en: %s.",
		"cond.categories":        "Válido solo en: %s.",
		"cond.xproducts":         "No válido en: %s.",
		"cond.xcategories":       "No válido en: %s.",
		"cond.once":              "Se puede usar una vez.",
		"cond.once.email":        "Se puede usar una vez, con la dirección de correo %s.",
		"cond.until":             "Válido hasta el %s.",
		"signoff":                "¡Hasta pronto!",
		"unsubscribe":            "Darse de baja",
		"unsubscribe.text":       "¿No quieres recibir estos correos? Darse de baja: %s",
		"subject":                "Tu cupón de %s",
		"subject.store":          "Tu cupón de %s de %s",
		"welcome.subject":        "¡Bienvenido! Tu cupón de %s",
		"welcome.subject.store":  "¡Bienvenido a %[2]s! Tu cupón de %[1]s",
		"welcome.intro":          "Gracias por unirte. Aquí tienes un regalo de bienvenida para tu primer pedido:",
		"welcome.closing":        "Nos alegra tenerte con nosotros.",
		"winback.subject":        "Te echamos de menos: %s de descuento en tu próximo pedido",
		"winback.subject.store":  "%[2]s te echa de menos: %[1]s de descuento en tu próximo pedido",
		"winback.intro":          "Ha pasado un tiempo desde tu último pedido y nos encantaría volver a verte. Aquí tienes algo para celebrar tu regreso:",
		"winback.closing":        "Sea lo que sea lo que te traiga de vuelta, estaremos encantados de ayudarte.",
		"generic.subject":        "Tu cupón de %s",
		"generic.subject.store":  "Tu cupón de %s de %s",
		"generic.intro":          "Aquí tienes tu cupón personal para tu próximo pedido:",
		"generic.closing":        "¡Disfruta de tus compras!",
		"reminder.subject":       "Recordatorio: tu cupón de %s caduca pronto",
		"reminder.subject.store": "Recordatorio: tu cupón de %s de %s caduca pronto",
		"reminder.intro":         "Un recordatorio rápido: aún no has usado tu cupón personal.",
		"reminder.expires":       "Caduca el %s.",
		"reminder.closing":       "¡No dejes que se pierda!",
	},
	"id": {
		"code.heading":           "Kode Anda:",
		"conditions.heading":     "Perlu diketahui:",
		"greeting.name":          "Hai %s,",
		"greeting":               "Halo,",
		"off":                    "diskon %s",
		"code.label":             "Kode Anda",
		"code.copy":              "Salin kode ini, atau ketik persis seperti yang tertulis.",
		"apply.button":           "Pakai kupon saya",
		"apply.text":             "Pakai dengan satu klik:",
		"checkout.or.url":        "Anda juga dapat memasukkan kode saat checkout di %s.",
		"checkout.url":           "Masukkan kode saat checkout di %s.",
		"checkout":               "Masukkan kode saat checkout.",
		"conditions.title":       "Perlu diketahui",
		"cond.min":               "Berlaku untuk pesanan minimal %s.",
		"cond.max":               "Berlaku untuk pesanan maksimal %s.",
		"cond.sale":              "Tidak berlaku untuk barang diskon.",
		"cond.freeship":          "Termasuk gratis ongkir.",
		"cond.individual":        "Tidak dapat digabung dengan kupon lain.",
		"cond.products":          "Hanya berlaku untuk: %s.",
		"cond.categories":        "Hanya berlaku di: %s.",
		"cond.xproducts":         "Tidak berlaku untuk: %s.",
		"cond.xcategories":       "Tidak berlaku di: %s.",
		"cond.once":              "Dapat digunakan satu kali.",
		"cond.once.email":        "Dapat digunakan satu kali, dengan alamat email %s.",
		"cond.until":             "Berlaku sampai %s.",
		"signoff":                "Sampai jumpa,",
		"unsubscribe":            "Berhenti berlangganan",
		"unsubscribe.text":       "Tidak ingin menerima email ini? Berhenti berlangganan: %s",
		"subject":                "Kupon %s untuk Anda",
		"subject.store":          "Kupon %s untuk Anda dari %s",
		"welcome.subject":        "Selamat datang! Kupon %s untuk Anda",
		"welcome.subject.store":  "Selamat datang di %[2]s! Kupon %[1]s untuk Anda",
		"welcome.intro":          "Terima kasih telah bergabung. Ini hadiah selamat datang untuk pesanan pertama Anda:",
		"welcome.closing":        "Kami senang Anda bersama kami.",
		"winback.subject":        "Kami rindu Anda: diskon %s untuk pesanan berikutnya",
		"winback.subject.store":  "%[2]s rindu Anda: diskon %[1]s untuk pesanan berikutnya",
		"winback.intro":          "Sudah lama sejak pesanan terakhir Anda, dan kami ingin bertemu lagi. Ini sesuatu untuk menyambut Anda kembali:",
		"winback.closing":        "Apa pun yang membawa Anda kembali, kami siap membantu.",
		"generic.subject":        "Kupon %s untuk Anda",
		"generic.subject.store":  "Kupon %s untuk Anda dari %s",
		"generic.intro":          "Ini kupon pribadi Anda untuk pesanan berikutnya:",
		"generic.closing":        "Selamat berbelanja!",
		"reminder.subject":       "Pengingat: kupon %s Anda segera berakhir",
		"reminder.subject.store": "Pengingat: kupon %s Anda dari %s segera berakhir",
		"reminder.intro":         "Sekadar mengingatkan: kupon pribadi Anda belum digunakan.",
		"reminder.expires":       "Kupon berakhir pada %s.",
		"reminder.closing":       "Jangan sampai terlewat!",
	},
	"nl": {
		"code.heading":           "Je code:",
		"conditions.heading":     "Goed om te weten:",
		"greeting.name":          "Hoi %s,",
		"greeting":               "Hallo,",
		"off":                    "%s korting",
		"code.label":             "Je code",
		"code.copy":              "Kopieer hem, of typ hem precies zoals hij hier staat.",
		"apply.button":           "Gebruik mijn kortingscode",
		"apply.text":             "Gebruik hem met één klik:",
		"checkout.or.url":        "Je kunt de code ook bij het afrekenen invullen op %s.",
		"checkout.url":           "Vul de code in bij het afrekenen op %s.",
		"checkout":               "Vul de code in bij het afrekenen.",
		"conditions.title":       "Goed om te weten",
		"cond.min":               "Geldig bij bestellingen vanaf %s.",
		"cond.max":               "Geldig bij bestellingen tot %s.",
		"cond.sale":              "Niet geldig op artikelen in de uitverkoop.",
		"cond.freeship":          "Inclusief gratis verzending.",
		"cond.individual":        "Niet te combineren met andere kortingscodes.",
		"cond.products":          "Alleen geldig op: %s.",
		"cond.categories":        "Alleen geldig in: %s.",
		"cond.xproducts":         "Niet geldig op: %s.",
		"cond.xcategories":       "Niet geldig in: %s.",
		"cond.once":              "Eenmaal te gebruiken.",
		"cond.once.email":        "Eenmaal te gebruiken, met het e-mailadres %s.",
		"cond.until":             "Geldig tot %s.",
		"signoff":                "Tot snel,",
		"unsubscribe":            "Afmelden",
		"unsubscribe.text":       "Wil je deze e-mails niet meer ontvangen? Afmelden: %s",
		"subject":                "Je kortingscode: %s korting",
		"subject.store":          "Je kortingscode van %[2]s: %[1]s korting",
		"welcome.subject":        "Welkom! Je kortingscode: %s korting",
		"welcome.subject.store":  "Welkom bij %[2]s! Je kortingscode: %[1]s korting",
		"welcome.intro":          "Fijn dat je erbij bent. Hier is een welkomstcadeau voor je eerste bestelling:",
		"welcome.closing":        "We zijn blij dat je er bent.",
		"winback.subject":        "We missen je: %s korting op je volgende bestelling",
		"winback.subject.store":  "%[2]s mist je: %[1]s korting op je volgende bestelling",
		"winback.intro":          "Je laatste bestelling is alweer een tijdje geleden, en we zien je graag terug. Hier is iets om je terugkomst te vieren:",
		"winback.closing":        "Wat je ook terugbrengt, we helpen je graag.",
		"generic.subject":        "Je kortingscode: %s korting",
		"generic.subject.store":  "Je kortingscode van %[2]s: %[1]s korting",
		"generic.intro":          "Hier is je persoonlijke kortingscode voor je volgende bestelling:",
		"generic.closing":        "Veel winkelplezier!",
		"reminder.subject":       "Herinnering: je kortingscode voor %s korting verloopt binnenkort",
		"reminder.subject.store": "Herinnering: je kortingscode voor %s korting bij %s verloopt binnenkort",
		"reminder.intro":         "Een korte herinnering: je persoonlijke kortingscode is nog niet gebruikt.",
		"reminder.expires":       "Hij verloopt op %s.",
		"reminder.closing":       "Laat hem niet verlopen!",
	},
}

// translate returns the string key of locale (purpose's own wording first),
// formatted with args. A key missing everywhere is returned as is, so that a
// typo shows in a preview rather than failing a send.
func translate(locale, purpose, key string, args ...any) string {
	for _, l := range []string{normLocale(locale), DefaultLocale} {
		cat := catalogs[l]
		for _, k := range []string{purpose + "." + key, key} {
			if f, ok := cat[k]; ok {
				if len(args) == 0 {
					return f
				}
				return fmt.Sprintf(f, args...)
			}
		}
	}
	return key
}
