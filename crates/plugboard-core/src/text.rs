//! Text from outside (a service's answers, a model's output, values read back from the store)
//! made safe to show, in one place for every crate: terminal escapes and invisible direction
//! controls removed, a secret scrubbed out however it is disguised, JSON escaped for a
//! terminal, and generated-media URLs limited to kinds that cannot carry a terminal attack.
//!
//! A terminal obeys what it is sent: `ESC ] 52` writes the clipboard, `ESC ] 0` sets the
//! window title, `ESC [ 2 J` clears the screen, `ESC ] 8` hides a link behind other text, and
//! U+202E makes text read differently from what it says. None of that may reach a terminal
//! from text plugboard did not write itself.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::ops::Range;

/// What a scrubbed run of a secret is replaced with.
pub const REDACTED_MARK: &str = "[redacted]";

/// A run of at least this many characters of a secret counts as showing it: a service's words
/// cut short can still carry most of a key, while a redacted key shows only its last four.
pub const MIN_SECRET_RUN: usize = 8;

/// `text` made safe to print as several lines (a model's output): whole escape sequences
/// (CSI, OSC and the other control strings, two-byte `ESC` sequences, and their C1 forms),
/// C0 controls other than newline and tab, DEL, C1 controls and bidirectional controls are
/// removed. A carriage return, vertical tab or form feed becomes a newline, so nothing can be
/// written over what was already shown.
pub fn sanitize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    visible_chars(text, |c| out.push(c));
    out
}

/// `text` made safe to show within one line (an error, an id, a service's words): cleaned as
/// [`sanitize_text`] does, then every run of whitespace (newlines included) becomes one space,
/// the ends are trimmed, and anything past `max_chars` characters is cut and marked with "…".
pub fn sanitize_line(text: &str, max_chars: usize) -> String {
    let mut line = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut kept = 0usize;
    let mut pending_space = false;
    let mut full = false;
    visible_chars(text, |c| {
        if full {
            return;
        }
        if c.is_whitespace() {
            pending_space = kept > 0;
            return;
        }
        let needed = usize::from(pending_space) + 1;
        if kept.saturating_add(needed) > max_chars {
            line.push('…');
            full = true;
            return;
        }
        if pending_space {
            line.push(' ');
            pending_space = false;
        }
        line.push(c);
        kept += needed;
    });
    line
}

/// Serialized JSON with DEL, the C1 controls and the bidirectional controls written as
/// `\uXXXX` escapes. serde_json escapes only C0 controls, so without this a value holding
/// U+202E or U+009B would reach the terminal raw. These characters can only occur inside JSON
/// strings, so the result is the same JSON value.
pub fn escape_json_for_terminal(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c == '\u{7f}' || is_c1(c) || is_bidi_control(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` with every run of [`MIN_SECRET_RUN`] or more characters of `secret` replaced by
/// [`REDACTED_MARK`], however the service disguised it: the comparison ignores case and skips
/// zero-width, soft-hyphen, direction and control characters, and those characters inside a
/// run are removed with it. A secret shorter than [`MIN_SECRET_RUN`] is matched whole.
pub fn scrub_secret(text: &str, secret: &str) -> String {
    let runs = secret_runs(text, secret);
    if runs.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for run in runs {
        out.push_str(&text[last..run.start]);
        out.push_str(REDACTED_MARK);
        last = run.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Whether `text` shows `secret` in the sense [`scrub_secret`] removes: a run of
/// [`MIN_SECRET_RUN`] or more of its characters, compared ignoring case and invisible
/// characters.
pub fn shows_secret(text: &str, secret: &str) -> bool {
    !secret_runs(text, secret).is_empty()
}

/// Whether a model's `mediaUrl` may be shown: an `https:` or `http:` URL, or a base64
/// `data:image/...` URL (how OpenRouter returns generated images), made of printable ASCII
/// only. Anything else (other schemes, spaces, escapes, non-ASCII look-alikes) is refused.
pub fn is_safe_media_url(url: &str) -> bool {
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = lower.strip_prefix(scheme) {
            return !rest.is_empty() && !rest.starts_with('/');
        }
    }
    let Some(rest) = lower.strip_prefix("data:image/") else {
        return false;
    };
    let Some((subtype, data)) = rest.split_once(";base64,") else {
        return false;
    };
    !subtype.is_empty()
        && subtype
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
        && !data.is_empty()
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

/// Whether `c` shows as itself: not a control, direction or zero-width character, and not
/// whitespace. Redaction shows a secret's tail only when every character of it does.
pub(crate) fn is_plainly_visible(c: char) -> bool {
    !(c.is_control() || c.is_whitespace() || is_bidi_control(c) || is_invisible(c))
}

/// The byte ranges of `text` that show `secret`, merged and in order.
fn secret_runs(text: &str, secret: &str) -> Vec<Range<usize>> {
    let key: Vec<char> = secret
        .chars()
        .filter(|&c| !is_ignored_in_secrets(c))
        .map(fold_case)
        .collect();
    if key.is_empty() {
        return Vec::new();
    }
    let run = MIN_SECRET_RUN.min(key.len());
    let pieces: HashSet<&[char]> = key.windows(run).collect();
    // The normalised text, and where each of its characters sits in `text`.
    let (folded, spans): (Vec<char>, Vec<Range<usize>>) = text
        .char_indices()
        .filter(|&(_, c)| !is_ignored_in_secrets(c))
        .map(|(at, c)| (fold_case(c), at..at + c.len_utf8()))
        .unzip();
    // Every character inside some window that is a piece of the key is part of a run of the
    // key at least `run` long, and every such run is covered by its windows.
    let mut covered = vec![false; folded.len()];
    for (at, window) in folded.windows(run).enumerate() {
        if pieces.contains(window) {
            covered[at..at + run].fill(true);
        }
    }
    let mut runs = Vec::new();
    let mut at = 0;
    while at < folded.len() {
        if !covered[at] {
            at += 1;
            continue;
        }
        let first = at;
        while at < folded.len() && covered[at] {
            at += 1;
        }
        runs.push(spans[first].start..spans[at - 1].end);
    }
    runs
}

/// Lowercase, where that is one character (all a key is made of); otherwise as is.
fn fold_case(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Characters a service could slip into an echoed secret without changing how it reads.
fn is_ignored_in_secrets(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_invisible(c)
}

/// Zero-width and other characters that take no room on screen (soft hyphen, joiners,
/// variation selectors, byte-order mark, tag characters).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{17b4}'
            | '\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200d}'
            | '\u{2060}'..='\u{2065}'
            | '\u{206a}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// Characters that reorder what follows them on screen, so text could read differently from
/// what it says: the embeddings and overrides, the isolates, and the three marks.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

fn is_c1(c: char) -> bool {
    ('\u{80}'..='\u{9f}').contains(&c)
}

/// Calls `emit` with each character of `text` a terminal would show as text, dropping whole
/// escape sequences and every control but newline and tab (carriage returns, vertical tabs
/// and form feeds become newlines).
fn visible_chars(text: &str, mut emit: impl FnMut(char)) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // The C1 forms of CSI, and of DCS, SOS, OSC, PM and APC.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' | '\t' => emit(c),
            // CR LF is one line break; the LF that follows is emitted on its own.
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\u{b}' | '\u{c}' => emit('\n'),
            c if c.is_control() || is_bidi_control(c) => {}
            c => emit(c),
        }
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Skips what follows an ESC: a CSI, a control string, or a (possibly intermediate-prefixed)
/// two-byte sequence. Anything else after the ESC is left for the caller.
fn skip_escape(chars: &mut Chars<'_>) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string(chars);
        }
        Some(&c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while chars
                .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                .is_some()
            {}
            chars.next_if(|c| ('\u{30}'..='\u{7e}').contains(c));
        }
        Some(&c) if ('\u{30}'..='\u{7e}').contains(&c) => {
            chars.next();
        }
        _ => {}
    }
}

/// Skips a CSI's parameter and intermediate bytes and its final byte. A sequence broken off by
/// anything else ends there, and that character is left for the caller.
fn skip_csi(chars: &mut Chars<'_>) {
    while chars
        .next_if(|c| ('\u{20}'..='\u{3f}').contains(c))
        .is_some()
    {}
    chars.next_if(|c| ('\u{40}'..='\u{7e}').contains(c));
}

/// Skips a control string (OSC, DCS, SOS, PM, APC) through its terminator: BEL, ST (`ESC \`
/// or U+009C). Another ESC ends it and is left for the caller; an unterminated string runs to
/// the end, as a terminal would swallow it.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        match c {
            '\u{7}' | '\u{9c}' => {
                chars.next();
                return;
            }
            '\u{1b}' => {
                chars.next();
                if chars.peek() == Some(&'\\') {
                    chars.next();
                } else {
                    // An ESC that is not ST starts a sequence of its own, skipped whole.
                    skip_escape(chars);
                }
                return;
            }
            _ => {
                chars.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each attack the sanitiser exists for, with what must be left of it.
    const ATTACKS: &[(&str, &str, &str)] = &[
        (
            "OSC 52 writes the clipboard",
            "a\u{1b}]52;c;cm0gLXJmIH4=\u{7}b",
            "ab",
        ),
        (
            "OSC 52 ended by ST",
            "a\u{1b}]52;c;cm0gLXJmIH4=\u{1b}\\b",
            "ab",
        ),
        ("OSC 0 sets the window title", "a\u{1b}]0;pwned\u{7}b", "ab"),
        ("CSI 2J clears the screen", "a\u{1b}[2Jb", "ab"),
        ("CSI with parameters", "a\u{1b}[1;31mred\u{1b}[0mb", "aredb"),
        (
            "OSC 8 hides a link",
            "\u{1b}]8;;https://evil.test\u{1b}\\click\u{1b}]8;;\u{1b}\\",
            "click",
        ),
        ("U+202E reverses text", "abc\u{202e}fed", "abcfed"),
        (
            "isolates and marks",
            "a\u{2066}b\u{2069}c\u{200e}d\u{200f}e\u{61c}f\u{202a}g",
            "abcdefg",
        ),
        ("C1 CSI U+009B", "a\u{9b}2Jb", "ab"),
        ("C1 OSC U+009D to C1 ST", "a\u{9d}0;title\u{9c}b", "ab"),
        ("BEL rings", "a\u{7}b", "ab"),
        ("DEL", "a\u{7f}b", "ab"),
        ("other C1", "a\u{85}\u{80}b", "ab"),
        ("other C0", "a\u{0}\u{8}\u{1f}b", "ab"),
        ("two-byte ESC resets", "a\u{1b}cb", "ab"),
        ("ESC with an intermediate", "a\u{1b}(Bb", "ab"),
        ("ESC at the end", "ab\u{1b}", "ab"),
        ("unterminated OSC runs to the end", "ab\u{1b}]0;title", "ab"),
        (
            "CSI broken off by a letter outside it",
            "a\u{1b}[12\u{e9}b",
            "a\u{e9}b",
        ),
        (
            "ESC inside OSC starts its own sequence",
            "a\u{1b}]0;t\u{1b}[2Jb",
            "ab",
        ),
    ];

    #[test]
    fn every_terminal_attack_is_removed_whole_from_multi_line_text() {
        for (name, text, want) in ATTACKS {
            assert_eq!(sanitize_text(text), *want, "{name}");
        }
    }

    #[test]
    fn every_terminal_attack_is_removed_whole_from_one_line_text() {
        for (name, text, want) in ATTACKS {
            assert_eq!(sanitize_line(text, 100), *want, "{name}");
        }
    }

    #[test]
    fn multi_line_text_keeps_newlines_and_tabs_and_cannot_overwrite_a_line() {
        let cases = [
            ("newlines and tabs", "a\n\tb\n", "a\n\tb\n"),
            ("CRLF is one line break", "a\r\nb", "a\nb"),
            (
                "a lone CR cannot return over the line",
                "shown\rfake",
                "shown\nfake",
            ),
            ("vertical tab and form feed", "a\u{b}b\u{c}c", "a\nb\nc"),
            ("plain unicode", "日本語 ✓ é", "日本語 ✓ é"),
            (
                "zero-width joiner in emoji is kept",
                "👩\u{200d}💻",
                "👩\u{200d}💻",
            ),
        ];
        for (name, text, want) in cases {
            assert_eq!(sanitize_text(text), want, "{name}");
        }
    }

    #[test]
    fn sanitize_line_makes_text_one_short_line() {
        let cases = [
            ("plain", "invalid_grant", 50, "invalid_grant"),
            ("newlines", "bad\nrequest\r\nhere", 50, "bad request here"),
            ("controls", "a\u{1b}[31mred\u{7}b", 50, "aredb"),
            ("runs and ends", "  \t a   \n\n b \t ", 50, "a b"),
            ("direction override", "abc\u{202e}def", 50, "abcdef"),
            ("exact fit", "abcde", 5, "abcde"),
            ("cut", "abcdefgh", 5, "abcde…"),
            ("cut before a space", "abcde fgh", 5, "abcde…"),
            ("cut on a char boundary", "ééééé", 3, "ééé…"),
            ("wide chars", "日本語テキスト", 3, "日本語…"),
            ("empty", "", 5, ""),
            ("only whitespace", " \n\t ", 5, ""),
            ("zero room", "abc", 0, "…"),
            ("no limit", "a\nb", usize::MAX, "a b"),
        ];
        for (name, text, max, expected) in cases {
            assert_eq!(sanitize_line(text, max), expected, "{name}");
        }
    }

    #[test]
    fn json_for_a_terminal_escapes_what_serde_json_leaves_raw() {
        let value = serde_json::json!({
            "text": "a\u{1b}[2J\u{202e}b\u{9b}c\u{7f}d\u{2066}e",
        });
        let json = escape_json_for_terminal(&serde_json::to_string(&value).unwrap());
        assert_eq!(json, r#"{"text":"a\u001b[2J\u202eb\u009bc\u007fd\u2066e"}"#);
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, value);
        assert!(json.chars().all(|c| c.is_ascii_graphic()), "{json}");
    }

    const KEY: &str = "sk-or-v1-0123456789abcdefABCDEF0123456789";

    /// `KEY` with `inserted` after every fifth character.
    fn interleaved(inserted: char) -> String {
        KEY.chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let extra = (i % 5 == 4).then_some(inserted);
                std::iter::once(c).chain(extra)
            })
            .collect()
    }

    #[test]
    fn the_key_is_scrubbed_however_it_is_echoed() {
        let cases = [
            (
                "plain echo",
                format!("bad key {KEY}."),
                "bad key [redacted].",
            ),
            (
                "upper case",
                format!("bad key {}.", KEY.to_uppercase()),
                "bad key [redacted].",
            ),
            (
                "zero-width spaces inside",
                format!("bad key {}.", interleaved('\u{200b}')),
                "bad key [redacted].",
            ),
            (
                "soft hyphens inside",
                format!("bad key {}.", interleaved('\u{ad}')),
                "bad key [redacted].",
            ),
            (
                "a BEL inside",
                format!("bad key {}\u{7}{}.", &KEY[..12], &KEY[12..]),
                "bad key [redacted].",
            ),
            (
                "a partial run of eight",
                "key ends in ABCDEF01, see".to_owned(),
                "key ends in [redacted], see",
            ),
            (
                "seven in a row are coincidence",
                "code 0123456 and abcdefa".to_owned(),
                "code 0123456 and abcdefa",
            ),
            (
                "twice, apart",
                format!("{KEY} or {KEY}"),
                "[redacted] or [redacted]",
            ),
            ("nothing of it", "all good".to_owned(), "all good"),
        ];
        for (name, text, want) in cases {
            assert_eq!(scrub_secret(&text, KEY), want, "{name}");
            assert_eq!(shows_secret(&text, KEY), want != text, "{name}");
        }
    }

    #[test]
    fn a_short_or_empty_secret_is_matched_whole_or_not_at_all() {
        assert_eq!(
            scrub_secret("bad key sk-1 here", "sk-1"),
            "bad key [redacted] here"
        );
        assert_eq!(scrub_secret("bad key SK-1", "sk-1"), "bad key [redacted]");
        assert_eq!(scrub_secret("sk-", "sk-1"), "sk-");
        assert_eq!(scrub_secret("anything", ""), "anything");
        assert_eq!(scrub_secret("anything", "\u{200b}"), "anything");
    }

    #[test]
    fn scrubbing_keeps_the_text_around_multibyte_characters() {
        let text = format!("é{}\u{200b}{}ü", &KEY[..10], &KEY[10..]);
        assert_eq!(scrub_secret(&text, KEY), "é[redacted]ü");
    }

    #[test]
    fn only_web_and_inline_image_urls_are_safe_media() {
        let cases = [
            ("https://img.test/1.png", true),
            ("HTTP://img.test/1.png?x=1#y", true),
            ("data:image/png;base64,iVBORw0KGgo=", true),
            ("data:image/svg+xml;base64,PHN2Zz4=", true),
            ("https://img.test/\u{1b}]52;c;eA==\u{7}", false),
            ("https://img.test/\u{7}", false),
            ("https://img.test/a b", false),
            ("https://img.t\u{435}st/", false),
            ("https://img.test/\u{202e}gnp.exe", false),
            ("https://", false),
            ("https:///path", false),
            ("javascript:alert(1)", false),
            ("file:///etc/passwd", false),
            ("ftp://files.test/x.png", false),
            ("data:text/html;base64,PHNjcmlwdD4=", false),
            ("data:image/png,rawbytes", false),
            ("data:image/png;base64,", false),
            ("data:image/;base64,AAAA", false),
            ("data:image/png;base64,AA AA", false),
            ("", false),
        ];
        for (url, safe) in cases {
            assert_eq!(is_safe_media_url(url), safe, "{url:?}");
        }
    }
}
