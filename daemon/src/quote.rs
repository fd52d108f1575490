//! argv as a person would type it, for every place warden shows a command: the library's
//! denial and waiting lines (through the daemon's reply), `warden log`, `pending` and
//! `watch`. Shown, never matched: rules see the bytes themselves. Also counts with their
//! noun (`1 rule`, `2 rules`).

/// The words of `argv` joined by spaces, each with shell-special characters single-quoted
/// (`bash -c 'cat ~/.ssh/id_rsa'`). Invalid UTF-8 is shown lossily.
pub fn command_line<W: AsRef<[u8]>>(argv: &[W]) -> String {
    let words: Vec<String> = argv.iter().map(|word| quote_word(word.as_ref())).collect();
    words.join(" ")
}

fn quote_word(word: &[u8]) -> String {
    let text = String::from_utf8_lossy(word);
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Longest command shown on one line with a reason after it (a denial, a waiting line).
pub const BRIEF_MAX: usize = 120;

/// [`command_line`] shortened to [`BRIEF_MAX`] characters.
pub fn brief<W: AsRef<[u8]>>(argv: &[W]) -> String {
    shorten(&command_line(argv), BRIEF_MAX)
}

/// `text` cut to at most `max` characters, ending in `…` when it was cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some(_) => {
            let kept: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{kept}…")
        }
    }
}

/// `n` and its noun, singular for one: `1 rule`, `72 rules` (nouns with a plain plural `s`).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1, "rule"), "1 rule");
        assert_eq!(count(0, "test"), "0 tests");
        assert_eq!(count(72, "rule"), "72 rules");
    }

    #[test]
    fn special_words_are_single_quoted() {
        let argv = ["bash", "-c", "cat ~/.ssh/id_rsa", "it's", ""];
        assert_eq!(
            command_line(&argv),
            r#"bash -c 'cat ~/.ssh/id_rsa' 'it'\''s' ''"#
        );
        assert_eq!(command_line(&["rm", "-rf", "/tmp/x"]), "rm -rf /tmp/x");
    }

    #[test]
    fn long_text_is_shortened_on_a_character() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "ab…");
        assert_eq!(shorten("ééééé", 4), "ééé…");
    }
}
