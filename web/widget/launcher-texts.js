/*
 * launcher-texts.js: the launcher's own texts (the bubble's label and the default title) in each
 * language of i18n.js, so that widget.js shows its bubble without the panel's tables. Generated from
 * i18n.js (node: TEXTS[lang].open, .support); tests/browser/embed.test.mjs holds them equal.
 */
/** @type {Record<string, [string, string]>} */
export const LAUNCHER_TEXTS = {
  "en": [
    "Open chat with {title}",
    "Support"
  ],
  "ru": [
    "Открыть чат: {title}",
    "Поддержка"
  ],
  "de": [
    "Chat mit {title} öffnen",
    "Support"
  ],
  "fr": [
    "Ouvrir la discussion avec {title}",
    "Assistance"
  ],
  "es": [
    "Abrir chat con {title}",
    "Soporte"
  ],
  "pt": [
    "Abrir chat com {title}",
    "Suporte"
  ],
  "ar": [
    "فتح المحادثة مع {title}",
    "الدعم"
  ]
};
