//! Text to terms, the same way for what is indexed and what is searched: words are cut at anything
//! that is not a letter or digit, folded (compatibility decomposition, accents dropped, lower
//! case: "Café" → "cafe"), stemmed with the English Snowball stemmer ("Refunds" → "refund"), and
//! common English words are left out. Han, kana and hangul characters are terms one by one (those
//! scripts do not separate words with spaces).

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::OnceLock;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Most distinct terms indexed per message (the first ones in the text).
pub const MAX_TERMS_PER_MESSAGE: usize = 100;
/// Most terms a query may have.
pub const MAX_QUERY_TERMS: usize = 8;
/// Longest indexed term, in bytes (longer words are cut).
const MAX_TERM_BYTES: usize = 64;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of", "on", "or", "such",
    "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
];

/// A word of a text: where it is (byte offsets) and the term it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub term: String,
}

fn stemmer() -> &'static Stemmer {
    static S: OnceLock<Stemmer> = OnceLock::new();
    S.get_or_init(|| Stemmer::create(Algorithm::English))
}

fn ideographic(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF   // hiragana, katakana
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xAC00..=0xD7AF // hangul syllables
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0x20000..=0x2FFFF)
}

/// Case- and accent-folding: "Ünïcödé" → "unicode".
pub fn fold(word: &str) -> String {
    word.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

fn term_of(word: &str) -> Option<String> {
    let folded = fold(word);
    if folded.is_empty() {
        return None;
    }
    if folded.chars().count() == 1 && !folded.chars().all(|c| c.is_ascii_digit() || ideographic(c)) {
        return None;
    }
    if STOP_WORDS.contains(&folded.as_str()) {
        return None;
    }
    let mut stem = stemmer().stem(&folded).into_owned();
    if stem.len() > MAX_TERM_BYTES {
        let mut cut = MAX_TERM_BYTES;
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        stem.truncate(cut);
    }
    Some(stem)
}

/// Every word of `text` that makes a term, in order.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let push = |s: usize, e: usize, out: &mut Vec<Token>| {
        if let Some(term) = term_of(&text[s..e]) {
            out.push(Token { start: s, end: e, term });
        }
    };
    for (i, c) in text.char_indices() {
        if ideographic(c) {
            if let Some(s) = start.take() {
                push(s, i, &mut out);
            }
            push(i, i + c.len_utf8(), &mut out);
        } else if c.is_alphanumeric() || is_combining_mark(c) {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            push(s, i, &mut out);
        }
    }
    if let Some(s) = start {
        push(s, text.len(), &mut out);
    }
    out
}

/// The distinct terms of a message, in order of appearance, at most [`MAX_TERMS_PER_MESSAGE`].
pub fn index_terms(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokens(text) {
        if !out.contains(&t.term) {
            out.push(t.term);
            if out.len() == MAX_TERMS_PER_MESSAGE {
                break;
            }
        }
    }
    out
}

/// The distinct terms of a query (all must match).
pub fn query_terms(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokens(q) {
        if !out.contains(&t.term) {
            out.push(t.term);
        }
    }
    out
}

/// A piece of a message around its first match, with the matches in it as `[start, end)` offsets
/// in UTF-16 code units (what JavaScript strings index by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<(usize, usize)>,
}

/// Characters of context a snippet keeps.
pub const SNIPPET_CHARS: usize = 160;

pub fn snippet(content: &str, terms: &[String]) -> Snippet {
    let hits: Vec<Token> = tokens(content).into_iter().filter(|t| terms.contains(&t.term)).collect();
    let total = content.chars().count();
    let (from, to) = if total <= SNIPPET_CHARS {
        (0, content.len())
    } else {
        // Start a little before the first hit, at a word boundary, and keep SNIPPET_CHARS.
        let first = hits.first().map(|t| t.start).unwrap_or(0);
        let mut from = first;
        let mut back = 0;
        for (i, c) in content[..first].char_indices().rev() {
            back += 1;
            from = i;
            if back >= 40 && c.is_whitespace() {
                from = i + c.len_utf8();
                break;
            }
        }
        if first == 0 {
            from = 0;
        }
        let to = content[from..].char_indices().nth(SNIPPET_CHARS).map(|(i, _)| from + i).unwrap_or(content.len());
        (from, to)
    };
    let prefix = if from > 0 { "…" } else { "" };
    let suffix = if to < content.len() { "…" } else { "" };
    let text = format!("{prefix}{}{suffix}", &content[from..to]);
    let base = prefix.encode_utf16().count();
    let u16_at = |byte: usize| base + content[from..byte].encode_utf16().count();
    let highlights = hits.iter().filter(|t| t.start >= from && t.end <= to).map(|t| (u16_at(t.start), u16_at(t.end))).collect();
    Snippet { text, highlights }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_stemming_match_what_people_type() {
        assert_eq!(query_terms("Refunds"), query_terms("refund"));
        assert_eq!(query_terms("café"), query_terms("CAFE"));
        assert_eq!(query_terms("Ünïcödé naïve"), vec!["unicod".to_string(), "naiv".to_string()]);
        assert_eq!(query_terms("the order of things"), query_terms("order things"));
        assert!(query_terms("a the of").is_empty());
        assert_eq!(query_terms("東京"), vec!["東".to_string(), "京".to_string()]);
        assert_eq!(query_terms("order #123, shipped!"), vec!["order".to_string(), "123".to_string(), "ship".to_string()]);
    }

    #[test]
    fn index_terms_are_distinct_and_bounded() {
        assert_eq!(index_terms("refund refunds Refunded"), vec!["refund".to_string()]);
        let long: String = (0..500).map(|i| format!("word{i} ")).collect();
        assert_eq!(index_terms(&long).len(), MAX_TERMS_PER_MESSAGE);
    }

    #[test]
    fn snippets_highlight_in_utf16_offsets() {
        let s = snippet("Le café est prêt — ☕ refunds soon", &query_terms("cafe refund"));
        assert_eq!(s.text, "Le café est prêt — ☕ refunds soon");
        let as_utf16: Vec<u16> = s.text.encode_utf16().collect();
        let words: Vec<String> = s.highlights.iter().map(|(a, b)| String::from_utf16(&as_utf16[*a..*b]).unwrap()).collect();
        assert_eq!(words, vec!["café", "refunds"]);
        let long = format!("{} refund {}", "x ".repeat(200), "y ".repeat(200));
        let s = snippet(&long, &query_terms("refund"));
        assert!(s.text.starts_with('…') && s.text.ends_with('…'), "{}", s.text);
        assert_eq!(s.highlights.len(), 1);
        let u: Vec<u16> = s.text.encode_utf16().collect();
        assert_eq!(String::from_utf16(&u[s.highlights[0].0..s.highlights[0].1]).unwrap(), "refund");
    }
}
