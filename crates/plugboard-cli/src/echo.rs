//! What the user typed, repeated in an error, clipped: a 10,000-character argument must not
//! become a 10,000-character error line. Every place the CLI echoes an argument goes through
//! here.

use std::borrow::Cow;

/// Longest piece of user-supplied text an error repeats, in characters.
pub(crate) const MAX_ECHO: usize = 200;

/// Marks where echoed text was cut.
const CUT: &str = "…";

/// `text`, cut after [`MAX_ECHO`] characters and marked with "…" when it is longer.
pub(crate) fn clip(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_ECHO) {
        Some((end, _)) => Cow::Owned(format!("{}{CUT}", &text[..end])),
        None => Cow::Borrowed(text),
    }
}

/// `text` clipped and quoted, control characters escaped: `"openrouter/…"`.
pub(crate) fn quoted(text: &str) -> String {
    format!("{:?}", clip(text))
}

/// `message`, from a lower layer that repeated `arg` whole (quoted or not), with `arg` clipped.
pub(crate) fn clip_in(message: &str, arg: &str) -> String {
    let short = clip(arg);
    if short == arg {
        return message.to_owned();
    }
    message
        .replace(&escaped(arg), &escaped(&short))
        .replace(arg, &short)
}

/// `text` as it appears inside `{:?}` quotes.
fn escaped(text: &str) -> String {
    let quoted = format!("{text:?}");
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_longer_than_the_limit_is_cut_and_marked() {
        let at_limit = "a".repeat(MAX_ECHO);
        let over = "b".repeat(MAX_ECHO + 1);
        let wide = "é".repeat(10_000);
        let cases = [
            ("", "".to_owned()),
            ("short", "short".to_owned()),
            (at_limit.as_str(), at_limit.clone()),
            (over.as_str(), format!("{}…", "b".repeat(MAX_ECHO))),
            (wide.as_str(), format!("{}…", "é".repeat(MAX_ECHO))),
        ];
        for (text, want) in cases {
            assert_eq!(clip(text), want, "{}", text.len());
        }
    }

    #[test]
    fn quoted_text_is_clipped_and_escaped() {
        assert_eq!(quoted("a\nb"), r#""a\nb""#);
        let long = "x".repeat(10_000);
        let shown = quoted(&long);
        assert_eq!(shown.chars().count(), MAX_ECHO + 3);
        assert!(shown.ends_with("…\""), "{shown}");
    }

    #[test]
    fn an_argument_repeated_by_a_lower_layer_is_clipped_in_its_message() {
        let long = format!("\t{}", "p".repeat(300));
        let quoted_message = format!("invalid profile id {long:?}: expected provider:name");
        assert_eq!(
            clip_in(&quoted_message, &long),
            format!(
                "invalid profile id \"\\t{}…\": expected provider:name",
                "p".repeat(MAX_ECHO - 1)
            )
        );
        let plain_message = format!("no such thing: {long}");
        assert!(clip_in(&plain_message, &long).chars().count() < MAX_ECHO + 20);
        // Short arguments leave the message alone.
        assert_eq!(clip_in("bad \"x\"", "x"), "bad \"x\"");
    }
}
