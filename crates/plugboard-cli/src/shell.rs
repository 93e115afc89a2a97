//! Text a user can paste into a shell: the fixes and removal commands plugboard prints name
//! paths and stored ids, which may hold spaces, quotes or bytes a terminal would act on.

use std::ffi::OsStr;

/// The bytes of a command-line argument or path as given (on Unix exactly; elsewhere as
/// UTF-8, lossily).
pub(crate) fn os_bytes(arg: &OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        arg.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        arg.to_string_lossy().into_owned().into_bytes()
    }
}

/// `arg` as one shell word, left bare when it is made only of characters no shell treats
/// specially, quoted by [`quote`] otherwise.
pub(crate) fn word(arg: &OsStr) -> String {
    let raw = os_bytes(arg);
    let plain = !raw.is_empty()
        && raw
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%".contains(b));
    if plain {
        String::from_utf8_lossy(&raw).into_owned()
    } else {
        quote(&raw)
    }
}

/// Quotes `raw` as one shell word. Printable ASCII goes in single quotes, which every POSIX
/// shell reads literally; anything else (control characters, escapes, bytes that are not
/// UTF-8, any non-ASCII character, which might be invisible or reorder the line) needs
/// `$'...'` with `\xHH` escapes, which bash, zsh and ksh read back as the same bytes.
pub(crate) fn quote(raw: &[u8]) -> String {
    if raw.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        // Only ASCII, so this is exactly `raw`.
        let text = String::from_utf8_lossy(raw);
        return format!("'{}'", text.replace('\'', r"'\''"));
    }
    let mut quoted = String::from("$'");
    for &b in raw {
        match b {
            b'\\' => quoted.push_str(r"\\"),
            b'\'' => quoted.push_str(r"\'"),
            b' ' => quoted.push(' '),
            b if b.is_ascii_graphic() => quoted.push(char::from(b)),
            b => quoted.push_str(&format!("\\x{b:02x}")),
        }
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn ids_are_quoted_for_the_shell_and_safe_on_a_terminal() {
        let cases: [(&[u8], &str); 7] = [
            (b"openrouter:bad name", "'openrouter:bad name'"),
            (b"it's", r"'it'\''s'"),
            (b"", "''"),
            (b"a\x1b[31mred", r"$'a\x1b[31mred'"),
            (b"x\ny", r"$'x\x0ay'"),
            (b"back\\slash\xff'", r"$'back\\slash\xff\''"),
            (
                "caf\u{e9}\u{202e}".as_bytes(),
                r"$'caf\xc3\xa9\xe2\x80\xae'",
            ),
        ];
        for (raw, want) in cases {
            let got = quote(raw);
            assert_eq!(got, want, "{raw:?}");
            assert!(
                got.chars().all(|c| c.is_ascii_graphic() || c == ' '),
                "{got:?}"
            );
        }
    }

    #[test]
    fn paths_are_quoted_for_the_shell_only_when_needed() {
        for (path, want) in [
            ("/home/u/.config/plugboard", "/home/u/.config/plugboard"),
            ("/tmp/a b", "'/tmp/a b'"),
            ("/tmp/it's", r"'/tmp/it'\''s'"),
            ("/tmp/caf\u{e9}", r"$'/tmp/caf\xc3\xa9'"),
        ] {
            assert_eq!(word(Path::new(path).as_os_str()), want);
        }
    }
}
